"""The SAM template as CloudFormation sees it: parsed, translated and evaluated.

`translate()` runs the SAM transform (aws-sam-translator, what CloudFormation runs
on deploy). `Stack` evaluates the intrinsic functions of the result for one choice
of parameters: conditions pick their branch, parameters, pseudo parameters and
mappings resolve, and a resource that has not been created yet stays a readable
placeholder (`${UploadBucket.Arn}`) unless its physical id is given.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

#: Where Lambda mounts the layer's `python/` directory, and its source in the repo
#: (the layer's Makefile copies `layers/gatekeeper/gatekeeper` to `python/gatekeeper`).
LAYER_MOUNT = "/opt/python/"
LAYER_SOURCE = ROOT / "layers" / "gatekeeper"

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO_PARAMETERS = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "upload-gatekeeper",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/upload-gatekeeper/6f1c2a40-8e2c-11ef-9d7f-0a1b2c3d4e5f",
}

NO_VALUE = object()  # what `Ref: AWS::NoValue` leaves: the property is dropped
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def load_template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text())


class _NoManagedPolicyNames:
    def load(self) -> dict[str, str]:
        raise AssertionError("the template names a managed policy by name; use explicit statements")


def translate(template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of ours.

    Code locations become S3 URIs first, as `sam package` leaves them.
    """
    sam = copy.deepcopy(dict(template or load_template()))
    for resource in sam["Resources"].values():
        properties = resource.get("Properties", {})
        for name in ("CodeUri", "ContentUri"):
            if name in properties:
                properties[name] = f"s3://artifacts/{Path(properties[name]).name}.zip"
    return transform(sam, {}, _NoManagedPolicyNames())


def _arguments(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


@dataclass
class Stack:
    """The template's values for one set of parameters.

    `physical` maps a logical id to its attributes once created (`{"Ref": ..., "Arn": ...}`).
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, str] = field(default_factory=dict)
    pseudo: Mapping[str, str] = field(default_factory=lambda: dict(PSEUDO_PARAMETERS))
    physical: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        unknown = set(self.parameters) - set(declared)
        assert not unknown, f"not parameters of the template: {unknown}"
        self.values = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        self.values.update({name: str(value) for name, value in self.parameters.items()})

    # ------------------------------------------------------------ lookups

    def resources(self, type_: str | None = None) -> dict[str, dict[str, Any]]:
        """Resources (of one type), their conditions applied, properties resolved."""
        out = {}
        for logical_id, resource in self.template["Resources"].items():
            if type_ and resource["Type"] != type_:
                continue
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            out[logical_id] = {**resource, "Properties": self.resolve(resource.get("Properties", {}))}
        return out

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.resolve(self.template["Resources"][logical_id].get("Properties", {}))

    def condition(self, name: str) -> bool:
        return self._truth(self.template["Conditions"][name])

    # ------------------------------------------------------------ evaluation

    def _truth(self, expression: Mapping[str, Any]) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(item) for item in argument)
        if function == "Fn::Or":
            return any(self._truth(item) for item in argument)
        raise ValueError(f"unsupported condition function {function}")

    def _name(self, name: str) -> Any:
        """`Ref` of a parameter, pseudo parameter or resource; `X.Attr` of a resource."""
        if name in self.values:
            return self.values[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        logical_id, _, attribute = name.partition(".")
        return self.physical.get(logical_id, {}).get(attribute or "Ref", f"${{{name}}}")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {name: self.resolve(value) for name, value in variables.items()}
        return _SUB_VARIABLE.sub(lambda m: str(local[m[1]] if m[1] in local else self._name(m[1])), text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._name(argument)
            if function == "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else argument
                return self._name(".".join(parts))
            if function == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false)
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if function == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if function == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
            if function == "Fn::FindInMap":
                mapping, *keys = (str(self.resolve(item)) for item in _arguments(argument))
                return self.template["Mappings"][mapping][keys[0]][keys[1]]
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def function_environment(stack: Stack, logical_id: str = "GatekeeperFunction") -> dict[str, str]:
    """The environment variables the template gives a function, as strings."""
    variables = stack.properties(logical_id)["Environment"]["Variables"]
    return {name: str(value) for name, value in variables.items()}


def local_path(lambda_path: str) -> Path:
    """The file in this repository that a layer path in the function's view stands for."""
    assert lambda_path.startswith(LAYER_MOUNT), f"{lambda_path} is not inside the layer"
    return LAYER_SOURCE / lambda_path.removeprefix(LAYER_MOUNT)


def assert_private_versioned_bucket(bucket: Mapping[str, Any], algorithms: frozenset[str] = frozenset({"AES256"})) -> Any:
    """A bucket's properties: every public access blocked, owner-enforced, encrypted by default
    with one of `algorithms`, versioned. Returns the encryption rule."""
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in algorithms
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    return rule
