"""``eks_secure.testing.normalise``: asset hashes go, everything else stays (its freedom from
the CDK is checked in ``tests/test_public_api.py``)."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from eks_secure.testing import ASSET_HASH_PLACEHOLDER, normalise

pytestmark = pytest.mark.xdist_group("cli-tools")

H1 = hashlib.sha256(b"lambda code").hexdigest()
H2 = hashlib.sha256(b"layer").hexdigest()

TEMPLATE = {
    "Resources": {
        "Handler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {
                    "S3Bucket": "cdk-hnb659fds-assets-111111111111-eu-west-1",
                    "S3Key": f"{H1}.zip",
                },
                "Layers": [{"Fn::Join": ["", ["arn:", f"asset.{H2}"]]}],
            },
        },
        f"Nested{H2}": {"Type": "AWS::CloudFormation::Stack"},
    },
    "Outputs": {
        "Digest": {"Value": H1.upper()},
        "Short": {"Value": H1[:63]},
        "Long": {"Value": H1 + "0"},
    },
}


def test_asset_hashes_are_replaced_and_nothing_else() -> None:
    before = copy.deepcopy(TEMPLATE)
    result = normalise(TEMPLATE)
    assert before == TEMPLATE, "the input is not modified"
    code = result["Resources"]["Handler"]["Properties"]["Code"]
    assert code == {
        "S3Bucket": "cdk-hnb659fds-assets-111111111111-eu-west-1",
        "S3Key": f"{ASSET_HASH_PLACEHOLDER}.zip",
    }
    layers = result["Resources"]["Handler"]["Properties"]["Layers"]
    assert layers == [{"Fn::Join": ["", ["arn:", f"asset.{ASSET_HASH_PLACEHOLDER}"]]}]
    # a hash glued to a word is not a stand-alone asset hash; keys with one are left alone too
    assert f"Nested{H2}" in result["Resources"]
    # not a lower-case 64-digit word: upper case, 63 digits, 65 digits
    assert result["Outputs"] == TEMPLATE["Outputs"]


def test_two_builds_with_different_assets_compare_equal() -> None:
    other = json.loads(json.dumps(TEMPLATE).replace(H1, hashlib.sha256(b"v2").hexdigest()))
    assert other != TEMPLATE
    assert normalise(other)["Resources"]["Handler"] == normalise(TEMPLATE)["Resources"]["Handler"]
