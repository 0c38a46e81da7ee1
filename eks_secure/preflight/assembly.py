"""A cloud assembly read back from disk: stacks, nested stacks, resolved values (pure Python).

:func:`load` reads ``manifest.json``, every ``aws:cloudformation:stack`` artifact and its nested
templates: the object key of each ``AWS::CloudFormation::Stack`` resource's ``TemplateURL`` names a
file asset in the asset manifests (``aws:asset:path`` metadata is only a fallback: apps may turn
asset metadata off). Each nested stack receives the values its parent passes as parameters, so a
``Ref`` to a parameter resolves to the parent's resource.

Values are resolved with :meth:`Stack.resolve`: ``Ref``, ``Fn::GetAtt`` (including a nested
stack's ``Outputs.X``), ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` with
the template's conditions, ``Fn::Equals``/``Not``/``And``/``Or``, ``Fn::FindInMap``,
``Fn::GetAZs`` and the pseudo parameters (from the stack's environment). What exists only after
deployment (a subnet's ID, a generated name's random tail) stays a :class:`ResourceRef`; inside
strings it is rendered as a stable placeholder (:mod:`eks_secure.preflight.physical`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eks_secure.errors import ConfigError
from eks_secure.files import read_json_file

ASSET_PATH = "aws:asset:path"
NESTED_STACK = "AWS::CloudFormation::Stack"


class NoValue:
    """``AWS::NoValue``: the property or list item is dropped."""

    def __repr__(self) -> str:
        return "NoValue"


NO_VALUE = NoValue()


@dataclass(frozen=True)
class Env:
    """Where a stack deploys: account, region and the partition's names."""

    account: str
    region: str

    @property
    def partition(self) -> str:
        """``aws``, ``aws-cn`` or ``aws-us-gov`` (from the region)."""
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def url_suffix(self) -> str:
        """``amazonaws.com`` (``amazonaws.com.cn`` in China)."""
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"


@dataclass(frozen=True)
class ResourceRef:
    """``Ref`` (``attribute`` None) or ``Fn::GetAtt`` of a resource that exists only deployed."""

    stack: Stack = field(compare=False, hash=False, repr=False)
    stack_key: str
    logical_id: str
    attribute: str | None = None

    @property
    def resource(self) -> dict[str, Any]:
        """The template resource."""
        return self.stack.resources[self.logical_id]

    @property
    def type(self) -> str:
        """The resource type."""
        return str(self.resource.get("Type", ""))


@dataclass(eq=False)
class Stack:
    """One deployed stack: a top-level stack artifact or a nested stack.

    :param key: unique key, ``<artifact id>`` or ``<parent key>/<logical ID>``.
    :param name: the stack's name (a nested stack's is generated, see ``physical``).
    """

    key: str
    name: str
    template: dict[str, Any]
    file: Path
    env: Env
    assembly: Assembly = field(repr=False)
    parent: Stack | None = None
    logical_id_in_parent: str | None = None
    raw_parameters: dict[str, Any] = field(default_factory=dict)
    """The parameter values the parent passes (unresolved: resolved in the parent on use)."""
    execution_role_arn: str | None = None
    """ARN of the role CloudFormation acts as (inherited by nested stacks)."""
    deploy_role_arn: str | None = None
    """ARN of the role the CLI assumes to deploy (top-level stacks only)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Stack-level tags, which CloudFormation propagates to the resources (nested inherit)."""
    artifact: dict[str, Any] = field(default_factory=dict)
    _conditions: dict[str, bool] = field(default_factory=dict, repr=False)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The template's resources."""
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources

    @property
    def root(self) -> Stack:
        """The top-level stack this stack belongs to."""
        return self if self.parent is None else self.parent.root

    def is_active(self, logical_id: str) -> bool:
        """Whether the resource is created (its ``Condition``, if any, is true)."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(str(condition))

    def active_resources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The resources that are created, in template order."""
        for logical_id, resource in self.resources.items():
            if self.is_active(logical_id):
                yield logical_id, resource

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Active resources of the given types."""
        for logical_id, resource in self.active_resources():
            if resource.get("Type") in types:
                yield logical_id, resource

    def condition(self, name: str) -> bool:
        """Evaluate a named template condition (unknown inputs evaluate to false)."""
        if name not in self._conditions:
            value = self.resolve(self.template.get("Conditions", {}).get(name, False))
            self._conditions[name] = value is True
        return self._conditions[name]

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resolved properties of a resource."""
        resolved = self.resolve(self.resources[logical_id].get("Properties", {}))
        return resolved if isinstance(resolved, dict) else {}

    def ref(self, logical_id: str, attribute: str | None = None) -> ResourceRef:
        """A reference to one of this stack's resources."""
        return ResourceRef(self, self.key, logical_id, attribute)

    def resolve(self, value: Any) -> Any:
        """Resolve the intrinsic functions in ``value`` (see the module docstring)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    def text(self, value: Any) -> str:
        """``value`` resolved and rendered as a string (references become placeholders)."""
        from eks_secure.preflight.physical import render

        return render(self.resolve(value))

    def pseudo(self, name: str) -> Any:
        """The value of a pseudo parameter."""
        from eks_secure.preflight.physical import stack_arn

        values: dict[str, Any] = {
            "AWS::AccountId": self.env.account,
            "AWS::Region": self.env.region,
            "AWS::Partition": self.env.partition,
            "AWS::URLSuffix": self.env.url_suffix,
            "AWS::StackName": self.name,
            "AWS::StackId": stack_arn(self),
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        return values.get(name, f"{{{name}}}")

    def output(self, name: str) -> Any:
        """The resolved value of one of this stack's outputs."""
        outputs = self.template.get("Outputs", {})
        if name not in outputs:
            return f"{{{self.key}.Outputs.{name}}}"
        return self.resolve(outputs[name].get("Value"))


def _ref(stack: Stack, name: Any) -> Any:
    name = str(name)
    if name.startswith("AWS::"):
        return stack.pseudo(name)
    if name in stack.resources:
        return stack.ref(name)
    if name in stack.raw_parameters and stack.parent is not None:
        return stack.parent.resolve(stack.raw_parameters[name])
    parameter = stack.template.get("Parameters", {}).get(name)
    if parameter is not None and "Default" in parameter:
        return parameter["Default"]
    return f"{{{name}}}"


def _get_att(stack: Stack, arg: Any) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    logical_id, attribute = str(arg[0]), stack.resolve(arg[1])
    resource = stack.resources.get(logical_id)
    if resource is None:
        return f"{{{logical_id}.{attribute}}}"
    if resource.get("Type") == NESTED_STACK and str(attribute).startswith("Outputs."):
        child = stack.assembly.nested(stack, logical_id)
        if child is not None:
            return child.output(str(attribute).split(".", 1)[1])
    return stack.ref(logical_id, str(attribute))


_SUB = re.compile(r"\$\{([^}]+)\}")


def _sub(stack: Stack, arg: Any) -> Any:
    from eks_secure.preflight.physical import render

    if isinstance(arg, list):
        template, variables = str(arg[0]), dict(arg[1])
    else:
        template, variables = str(arg), {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return render(stack.resolve(variables[name]))
        if "." in name and not name.startswith("AWS::"):
            return render(_get_att(stack, name.split(".", 1)))
        return render(_ref(stack, name))

    return _SUB.sub(value, template)


def _join(stack: Stack, arg: Any) -> Any:
    from eks_secure.preflight.physical import render

    delimiter, items = arg
    items = stack.resolve(items)
    if not isinstance(items, list):
        return render(items)
    return str(delimiter).join(render(i) for i in items)


def _select(stack: Stack, arg: Any) -> Any:
    index, items = stack.resolve(arg[0]), stack.resolve(arg[1])
    if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
        return items[int(index)]
    return f"{{Select {index}}}"


def _split(stack: Stack, arg: Any) -> Any:
    from eks_secure.preflight.physical import render

    return render(stack.resolve(arg[1])).split(str(arg[0]))


def _if(stack: Stack, arg: Any) -> Any:
    name, if_true, if_false = arg
    return stack.resolve(if_true if stack.condition(str(name)) else if_false)


def _equals(stack: Stack, arg: Any) -> Any:
    left, right = stack.resolve(arg[0]), stack.resolve(arg[1])
    if isinstance(left, ResourceRef) or isinstance(right, ResourceRef):
        return False
    return left == right


def _not(stack: Stack, arg: Any) -> Any:
    return stack.resolve(arg[0]) is not True


def _and(stack: Stack, arg: Any) -> Any:
    return all(stack.resolve(a) is True for a in arg)


def _or(stack: Stack, arg: Any) -> Any:
    return any(stack.resolve(a) is True for a in arg)


def _condition(stack: Stack, arg: Any) -> Any:
    return stack.condition(str(arg))


def _find_in_map(stack: Stack, arg: Any) -> Any:
    name, first, second = (stack.resolve(a) for a in arg)
    try:
        return stack.template["Mappings"][name][first][second]
    except (KeyError, TypeError):
        return f"{{FindInMap {name}}}"


def _get_azs(stack: Stack, arg: Any) -> Any:
    return [f"{stack.env.region}{letter}" for letter in "abc"]


def _base64(stack: Stack, arg: Any) -> Any:
    return stack.resolve(arg)


_INTRINSICS = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Condition": _condition,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": _get_azs,
    "Fn::Base64": _base64,
}


@dataclass(eq=False)
class Assembly:
    """Every stack of a cloud assembly, nested stacks included."""

    directory: Path
    manifest: dict[str, Any]
    stacks: list[Stack] = field(default_factory=list)
    _nested: dict[tuple[str, str], Stack] = field(default_factory=dict, repr=False)
    _asset_files: dict[str, Path] | None = field(default=None, repr=False)

    def stack(self, key: str) -> Stack:
        """The stack with ``key``."""
        for stack in self.stacks:
            if stack.key == key:
                return stack
        raise KeyError(key)

    def nested(self, parent: Stack, logical_id: str) -> Stack | None:
        """The nested stack created by ``parent``'s resource ``logical_id``."""
        return self._nested.get((parent.key, logical_id))

    def children(self, parent: Stack) -> list[Stack]:
        """The nested stacks of ``parent``."""
        return [s for s in self.stacks if s.parent is parent]

    def find(self, ref: ResourceRef) -> tuple[Stack, str]:
        """The stack and logical ID a reference points to."""
        return ref.stack, ref.logical_id

    def all_resources(self) -> Iterator[tuple[Stack, str, dict[str, Any]]]:
        """Every active resource of every stack."""
        for stack in self.stacks:
            for logical_id, resource in stack.active_resources():
                yield stack, logical_id, resource


ASSEMBLY_FIX = "pass a cloud assembly directory (run `make synth` to write cdk.out)"
RESYNTH_FIX = "re-run `make synth` to write the assembly again"


class AssemblyNotFoundError(ConfigError, FileNotFoundError):
    """The assembly or one of its files is missing: a :class:`ConfigError` (exit code 2) that is
    still the :class:`FileNotFoundError` :func:`load` used to raise."""


def _read_json(path: Path, what: str, rename: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON object in ``path`` (``rename`` applied to the text first); a field-named
    :class:`ConfigError` when it is missing, unreadable, not JSON or not an object."""

    def renamed(text: str) -> str:
        for old, new in (rename or {}).items():
            text = text.replace(old, new)
        return text

    data = read_json_file(path, what, RESYNTH_FIX, missing=AssemblyNotFoundError, transform=renamed)
    if not isinstance(data, dict):
        raise ConfigError(str(path), f"{what} is not a JSON object", RESYNTH_FIX)
    return data


TEMPLATE_SECTIONS = ("Parameters", "Conditions", "Resources", "Outputs")
"""Template sections the checks read by key: each must be a JSON object when present."""


def _check_template_shape(template: dict[str, Any], path: Path) -> None:
    """A field-named :class:`ConfigError` when a section the checks read is not an object, or
    a resource is not an object with a string ``Type`` (a hand-edited or truncated template)."""
    for section in TEMPLATE_SECTIONS:
        if not isinstance(template.get(section, {}), dict):
            raise ConfigError(f"{path}: {section}", "is not a JSON object", RESYNTH_FIX)
    for logical_id, resource in template.get("Resources", {}).items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise ConfigError(
                f"{path}: Resources.{logical_id}",
                "is not a resource (a JSON object with a string Type)",
                RESYNTH_FIX,
            )


def _placeholders(text: str, env: Env) -> str:
    return (
        text.replace("${AWS::Partition}", env.partition)
        .replace("${AWS::AccountId}", env.account)
        .replace("${AWS::Region}", env.region)
    )


def _env_of(artifact: dict[str, Any]) -> Env:
    environment = str(artifact.get("environment", "aws://unknown-account/unknown-region"))
    account, _, region = environment.removeprefix("aws://").partition("/")
    return Env(account=account, region=region)


def load(directory: str | Path, *, rename: dict[str, str] | None = None) -> Assembly:
    """Read the cloud assembly in ``directory``.

    :param rename: replace these substrings in the manifest and every template before parsing
        (used to re-run the checks with a longer cluster name).
    """
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not directory.exists():
        raise AssemblyNotFoundError(str(directory), "does not exist", ASSEMBLY_FIX)
    if not directory.is_dir():
        raise AssemblyNotFoundError(
            str(directory), "is a file, not a cloud assembly directory", ASSEMBLY_FIX
        )
    if not manifest_path.is_file():
        raise AssemblyNotFoundError(
            str(directory), "is not a cloud assembly (it has no manifest.json)", ASSEMBLY_FIX
        )

    def read(path: Path, what: str) -> dict[str, Any]:
        return _read_json(path, what, rename)

    def read_template(path: Path, what: str) -> dict[str, Any]:
        template = read(path, what)
        _check_template_shape(template, path)
        return template

    manifest = read(manifest_path, "cloud assembly manifest")
    artifacts = manifest.get("artifacts", {})
    if not isinstance(artifacts, dict):
        raise ConfigError(f"{manifest_path}: artifacts", "is not a JSON object", RESYNTH_FIX)
    assembly = Assembly(directory=directory, manifest=manifest)
    for artifact_id, artifact in sorted(artifacts.items()):
        if not isinstance(artifact, dict) or artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        template_name = properties.get("templateFile") if isinstance(properties, dict) else None
        if not isinstance(template_name, str):
            raise ConfigError(
                f"{manifest_path}: artifacts.{artifact_id}.properties.templateFile",
                "is missing",
                RESYNTH_FIX,
            )
        env = _env_of(artifact)
        template_file = directory / template_name
        execution = properties.get("cloudFormationExecutionRoleArn")
        deploy = properties.get("assumeRoleArn")
        stack = Stack(
            key=artifact_id,
            name=str(properties.get("stackName", artifact_id)),
            template=read_template(template_file, f"template of stack {artifact_id}"),
            file=template_file,
            env=env,
            assembly=assembly,
            execution_role_arn=_placeholders(execution, env) if execution else None,
            deploy_role_arn=_placeholders(deploy, env) if deploy else None,
            tags=dict(properties.get("tags", {})),
            artifact=artifact,
        )
        assembly.stacks.append(stack)
        _load_nested(assembly, stack, read_template)
    return assembly


def _load_nested(
    assembly: Assembly, parent: Stack, read: Callable[[Path, str], dict[str, Any]]
) -> None:
    from eks_secure.preflight.physical import nested_stack_name

    for logical_id, resource in parent.of_type(NESTED_STACK):
        path = _nested_template(assembly, resource)
        if path is None:
            continue
        parameters = resource.get("Properties", {}).get("Parameters", {})
        child = Stack(
            key=f"{parent.key}/{logical_id}",
            name=nested_stack_name(parent, logical_id),
            template=read(path, f"template of nested stack {parent.key}/{logical_id}"),
            file=path,
            env=parent.env,
            assembly=assembly,
            parent=parent,
            logical_id_in_parent=logical_id,
            execution_role_arn=parent.execution_role_arn,
            tags=dict(parent.tags),
            raw_parameters=dict(parameters) if isinstance(parameters, dict) else {},
        )
        assembly._nested[(parent.key, logical_id)] = child
        assembly.stacks.append(child)
        _load_nested(assembly, child, read)


def _file_assets(assembly: Assembly) -> Iterator[dict[str, Any]]:
    """Every file asset entry of the assembly's asset manifests."""
    for artifact in assembly.manifest.get("artifacts", {}).values():
        if not isinstance(artifact, dict) or artifact.get("type") != "cdk:asset-manifest":
            continue
        manifest_file = assembly.directory / str(artifact.get("properties", {}).get("file", ""))
        if manifest_file.is_file():
            files = _read_json(manifest_file, "asset manifest").get("files", {})
            yield from files.values() if isinstance(files, dict) else ()


def _asset_files(assembly: Assembly) -> dict[str, Path]:
    """S3 object name (the key's last segment) -> local file of every file asset in the
    assembly's asset manifests."""
    files: dict[str, Path] = {}
    for asset in _file_assets(assembly):
        source = assembly.directory / str(asset.get("source", {}).get("path", ""))
        for destination in asset.get("destinations", {}).values():
            # by the key's last segment: the synthesizer's bucket prefix (e.g.
            # eks-secure/<cluster>/) is a separate literal of the TemplateURL's Fn::Join
            files[str(destination.get("objectKey", "")).rsplit("/", 1)[-1]] = source
    return files


def asset_buckets(assembly: Assembly, env: Env) -> list[str]:
    """The buckets the assembly's file assets are published to, as deployed in ``env``."""
    buckets: dict[str, None] = {}
    for asset in _file_assets(assembly):
        for destination in asset.get("destinations", {}).values():
            name = str(destination.get("bucketName", ""))
            if name:
                buckets.setdefault(_placeholders(name, env), None)
    return list(buckets)


def _nested_template(assembly: Assembly, resource: dict[str, Any]) -> Path | None:
    """The local template of a nested stack resource.

    Found through the asset manifests: the object key that ends the resource's ``TemplateURL``
    names the file asset (this works whether or not the app wrote asset metadata, which
    ``aws:cdk:enable-asset-metadata`` turns off). Falls back to the ``aws:asset:path`` metadata.
    """
    url = resource.get("Properties", {}).get("TemplateURL")
    parts = url.get("Fn::Join", ["", []])[1] if isinstance(url, dict) else [url]
    last = parts[-1] if parts and isinstance(parts[-1], str) else ""
    object_key = last.rsplit("/", 1)[-1]
    if object_key:
        if assembly._asset_files is None:
            assembly._asset_files = _asset_files(assembly)
        path = assembly._asset_files.get(object_key)
        if path is not None and path.is_file():
            return path
    asset = resource.get("Metadata", {}).get(ASSET_PATH)
    path = assembly.directory / str(asset) if asset else None
    return path if path is not None and path.is_file() else None
