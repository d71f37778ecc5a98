"""Holds generated Kubeflow pipelines to the real `kfp` SDK (2.17.3).

usage: check_pipeline.py check PIPELINE.yaml...    every check below, for each file
       check_pipeline.py dsl PIPELINE.yaml OUT.py   write the equivalent Python DSL pipeline
       check_pipeline.py run PIPELINE.yaml REPO MLOPSC SCRATCH [NAME=VALUE...]
                                                    run it task by task as Kubeflow would

For each pipeline file:
1. the PipelineSpec parses strictly (unknown fields are errors) into
   `kfp.pipeline_spec.pipeline_spec_pb2.PipelineSpec`, and the platform spec into `PlatformSpec`
   with each executor's config into kfp-kubernetes' `KubernetesExecutorConfig`;
2. every reference resolves: task → component → executor, `producerTask`, `outputArtifactKey`,
   `dependentTasks`, `componentInputParameter`, the placeholders in each executor's arguments,
   the platform spec's executors; every required input is given; the DAG has no cycle;
3. `kfp.components.load_component_from_file` loads it, and it compiles again as a task of a new
   `@dsl.pipeline`;
4. the equivalent pipeline written in the Python DSL, compiled by `kfp`, gives the same
   PipelineSpec and platform spec (the SDK version aside).

Prints one line per file and exits non-zero at the first failure.

`run` executes the pipeline on this machine the way a Kubeflow run does: each task in a fresh
copy of REPO (the image's working directory), its placeholders replaced by files under SCRATCH
(input artifacts are the files their producers wrote), parameters at their defaults or the
NAME=VALUE given. It prints each output artifact as `TASK KEY PATH`.
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml
from google.protobuf import json_format
from kfp import compiler, dsl
from kfp.components import load_component_from_file
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

PLACEHOLDER = re.compile(r"\{\{\$\.(inputs|outputs)\.(artifacts|parameters)\['([^']*)'\](\.path)?\}\}")


def fail(path, message):
    print(f"FAIL {path}: {message}")
    sys.exit(1)


def documents(path):
    with open(path, encoding="utf-8") as handle:
        docs = [doc for doc in yaml.safe_load_all(handle) if doc is not None]
    if not 1 <= len(docs) <= 2:
        fail(path, f"expected a PipelineSpec and at most a platform spec, found {len(docs)} documents")
    return docs[0], (docs[1] if len(docs) == 2 else None)


def parse_strictly(path, spec, platform):
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
    if platform is not None:
        json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec(), ignore_unknown_fields=False)
        executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        for config in executors.values():
            json_format.ParseDict(
                config, kubernetes_executor_config_pb2.KubernetesExecutorConfig(), ignore_unknown_fields=False
            )


def check_references(path, spec, platform):
    components = spec.get("components", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    tasks = spec["root"]["dag"]["tasks"]
    root_params = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    used_components, used_executors = set(), set()
    for name, task in tasks.items():
        component_name = task["componentRef"]["name"]
        if component_name not in components:
            fail(path, f"task {name}: component {component_name} does not exist")
        used_components.add(component_name)
        component = components[component_name]
        executor_name = component.get("executorLabel")
        if executor_name not in executors:
            fail(path, f"component {component_name}: executor {executor_name} does not exist")
        used_executors.add(executor_name)
        if not task.get("cachingOptions", {}).get("enableCache"):
            fail(path, f"task {name}: caching is off")
        for dependency in task.get("dependentTasks", []):
            if dependency not in tasks:
                fail(path, f"task {name}: dependent task {dependency} does not exist")
        wanted = component.get("inputDefinitions", {})
        given = task.get("inputs", {})
        for key, argument in given.get("artifacts", {}).items():
            if key not in wanted.get("artifacts", {}):
                fail(path, f"task {name}: input artifact {key} is not an input of {component_name}")
            source = argument["taskOutputArtifact"]
            producer = source["producerTask"]
            if producer not in tasks:
                fail(path, f"task {name}: producer task {producer} does not exist")
            if producer not in task.get("dependentTasks", []):
                fail(path, f"task {name}: reads from {producer} but does not depend on it")
            produced = components[tasks[producer]["componentRef"]["name"]].get("outputDefinitions", {})
            if source["outputArtifactKey"] not in produced.get("artifacts", {}):
                fail(path, f"task {name}: {producer} has no output artifact {source['outputArtifactKey']}")
        for key, argument in given.get("parameters", {}).items():
            if key not in wanted.get("parameters", {}):
                fail(path, f"task {name}: input parameter {key} is not an input of {component_name}")
            if argument["componentInputParameter"] not in root_params:
                fail(path, f"task {name}: pipeline parameter {argument['componentInputParameter']} does not exist")
        for kind in ("artifacts", "parameters"):
            for key, definition in wanted.get(kind, {}).items():
                if key not in given.get(kind, {}) and not definition.get("isOptional"):
                    fail(path, f"task {name}: required input {key} of {component_name} is not given")
        container = executors[executor_name]["container"]
        if not container.get("image"):
            fail(path, f"executor {executor_name}: no image")
        if container.get("command", [])[:3] != ["mlopsc", "step", "run"]:
            fail(path, f"executor {executor_name}: does not run the step contract")
        outputs = component.get("outputDefinitions", {})
        for argument in container.get("command", []) + container.get("args", []):
            for direction, kind, key, _ in PLACEHOLDER.findall(argument):
                declared = (wanted if direction == "inputs" else outputs).get(kind, {})
                if key not in declared:
                    fail(path, f"executor {executor_name}: placeholder {direction}.{kind}['{key}'] is not declared")
    unused = set(components) - used_components
    if unused:
        fail(path, f"components no task uses: {sorted(unused)}")
    unused = set(executors) - used_executors
    if unused:
        fail(path, f"executors no component uses: {sorted(unused)}")
    if platform is not None:
        for executor_name in platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]:
            if executor_name not in executors:
                fail(path, f"platform spec: executor {executor_name} does not exist")
    order = topological(path, tasks)
    if len(order) != len(tasks):
        fail(path, "the task graph has a cycle")


def topological(path, tasks):
    order, done = [], set()
    remaining = dict(tasks)
    while remaining:
        ready = sorted(name for name, task in remaining.items() if set(task.get("dependentTasks", [])) <= done)
        if not ready:
            fail(path, "the task graph has a cycle")
        for name in ready:
            order.append(name)
            done.add(name)
            del remaining[name]
    return order


def recompile(path, spec, platform):
    component = load_component_from_file(path)
    defaults = spec["root"].get("inputDefinitions", {}).get("parameters", {})

    @dsl.pipeline(name="wrapper")
    def wrapper():
        component(**{key: definition["defaultValue"] for key, definition in defaults.items()})

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "wrapper.yaml")
        compiler.Compiler().compile(wrapper, out)
        wrapped, wrapped_platform = documents(out)
    inner = wrapped["components"].get(f"comp-{spec['pipelineInfo']['name']}")
    if inner is None or set(inner["dag"]["tasks"]) != set(spec["root"]["dag"]["tasks"]):
        fail(path, "the recompiled pipeline does not hold the original tasks")
    if set(wrapped["deploymentSpec"]["executors"]) != set(spec["deploymentSpec"]["executors"]):
        fail(path, "the recompiled pipeline does not hold the original executors")
    if (platform is None) != (wrapped_platform is None):
        fail(path, "the recompiled pipeline lost or gained the platform spec")


def python_string(argument):
    """An argument with placeholders as a Python f-string over the component's parameters."""
    pieces, last = [], 0
    for match in PLACEHOLDER.finditer(argument):
        pieces.append(argument[last : match.start()].replace("{", "{{").replace("}", "}}"))
        pieces.append("{" + match.group(3) + (".path" if match.group(4) else "") + "}")
        last = match.end()
    pieces.append(argument[last:].replace("{", "{{").replace("}", "}}"))
    return "f" + repr("".join(pieces))


TYPES = {"system.Dataset": "dsl.Dataset", "system.Model": "dsl.Model", "system.Artifact": "dsl.Artifact"}
PYTHON_TYPES = {"NUMBER_INTEGER": "int", "NUMBER_DOUBLE": "float", "BOOLEAN": "bool", "STRING": "str"}


def equivalent_dsl(spec, platform):
    """The Python DSL pipeline a `kfp` user would write for this PipelineSpec."""
    lines = ["from kfp import dsl, kubernetes", ""]
    components = spec["components"]
    executors = spec["deploymentSpec"]["executors"]
    for component_name, component in components.items():
        function = component_name[len("comp-") :].replace("-", "_")
        parameters = []
        for key, definition in component.get("inputDefinitions", {}).get("artifacts", {}).items():
            parameters.append(f"{key}: dsl.Input[{TYPES[definition['artifactType']['schemaTitle']]}]")
        for key, definition in component.get("inputDefinitions", {}).get("parameters", {}).items():
            parameters.append(f"{key}: {PYTHON_TYPES[definition['parameterType']]}")
        for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            parameters.append(f"{key}: dsl.Output[{TYPES[definition['artifactType']['schemaTitle']]}]")
        container = executors[component["executorLabel"]]["container"]
        lines += [
            "@dsl.container_component",
            f"def {function}({', '.join(parameters)}):",
            "    return dsl.ContainerSpec(",
            f"        image={container['image']!r},",
            f"        command=[{', '.join(python_string(part) for part in container['command'])}],",
            f"        args=[{', '.join(python_string(part) for part in container.get('args', []))}],",
            "    )",
            "",
        ]
    root_params = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    signature = ", ".join(
        f"{key}: {PYTHON_TYPES[definition['parameterType']]} = {definition['defaultValue']!r}"
        for key, definition in root_params.items()
    )
    info = spec["pipelineInfo"]
    lines += [
        f"@dsl.pipeline(name={info['name']!r}, description={info.get('description')!r})",
        f"def pipeline({signature}):",
    ]
    tasks = spec["root"]["dag"]["tasks"]
    platform_executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"] if platform else {}
    for name in topological("<dsl>", tasks):
        task = tasks[name]
        component = components[task["componentRef"]["name"]]
        arguments = []
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            producer = source["taskOutputArtifact"]["producerTask"].replace("-", "_")
            arguments.append(f"{key}=t_{producer}.outputs[{source['taskOutputArtifact']['outputArtifactKey']!r}]")
        for key, source in task.get("inputs", {}).get("parameters", {}).items():
            arguments.append(f"{key}={source['componentInputParameter']}")
        variable = "t_" + name.replace("-", "_")
        function = task["componentRef"]["name"][len("comp-") :].replace("-", "_")
        lines.append(f"    {variable} = {function}({', '.join(arguments)})")
        lines.append(f"    {variable}.set_display_name({task['taskInfo']['name']!r})")
        lines.append(f"    {variable}.set_caching_options({task['cachingOptions']['enableCache']!r})")
        resources = executors[component["executorLabel"]]["container"].get("resources", {})
        if "resourceCpuRequest" in resources:
            lines.append(f"    {variable}.set_cpu_request({resources['resourceCpuRequest']!r})")
        if "resourceMemoryRequest" in resources:
            lines.append(f"    {variable}.set_memory_request({resources['resourceMemoryRequest']!r})")
        if "retryPolicy" in task:
            lines.append(f"    {variable}.set_retry({task['retryPolicy']['maxRetryCount']!r})")
        for dependency in task.get("dependentTasks", []):
            lines.append(f"    {variable}.after(t_{dependency.replace('-', '_')})")
        config = platform_executors.get(component["executorLabel"], {})
        for secret in config.get("secretAsEnv", []):
            mapping = {pair["secretKey"]: pair["envVar"] for pair in secret["keyToEnv"]}
            lines.append(
                f"    kubernetes.use_secret_as_env({variable}, secret_name={secret['secretName']!r}, secret_key_to_env={mapping!r})"
            )
        for config_map in config.get("configMapAsEnv", []):
            mapping = {pair["configMapKey"]: pair["envVar"] for pair in config_map["keyToEnv"]}
            lines.append(
                f"    kubernetes.use_config_map_as_env({variable}, config_map_name={config_map['configMapName']!r}, config_map_key_to_env={mapping!r})"
            )
    return "\n".join(lines) + "\n"


def differences(left, right, where=""):
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right)):
            if key not in left:
                found.append(f"{where}/{key}: only in kfp's")
            elif key not in right:
                found.append(f"{where}/{key}: only in ours")
            else:
                found += differences(left[key], right[key], f"{where}/{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [found for index, pair in enumerate(zip(left, right)) for found in differences(*pair, f"{where}/{index}")]
    if left != right:
        return [f"{where}: ours {left!r}, kfp's {right!r}"]
    return []


def compare_with_kfp(path, spec, platform):
    source = equivalent_dsl(spec, platform)
    with tempfile.TemporaryDirectory() as folder:
        module_path = os.path.join(folder, "equivalent.py")
        with open(module_path, "w", encoding="utf-8") as handle:
            handle.write(source)
        namespace = {}
        exec(compile(source, module_path, "exec"), namespace)
        out = os.path.join(folder, "kfp.yaml")
        compiler.Compiler().compile(namespace["pipeline"], out)
        theirs, their_platform = documents(out)
    ours = copy.deepcopy(spec)
    for document in (ours, theirs):
        document.pop("sdkVersion", None)
    found = differences(ours, theirs) + differences(platform or {}, their_platform or {}, "platform")
    if found:
        fail(path, "differs from what kfp compiles from the equivalent DSL pipeline:\n  " + "\n  ".join(found))


def run(path, repo, mlopsc, scratch, assignments):
    spec, _ = documents(path)
    tasks = spec["root"]["dag"]["tasks"]
    components = spec["components"]
    executors = spec["deploymentSpec"]["executors"]
    values = {
        key: definition["defaultValue"]
        for key, definition in spec["root"].get("inputDefinitions", {}).get("parameters", {}).items()
    }
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        values[key] = value
    produced = {}
    for name in topological(path, tasks):
        task = tasks[name]
        component = components[task["componentRef"]["name"]]
        container = executors[component["executorLabel"]]["container"]
        inputs = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            output = source["taskOutputArtifact"]
            inputs[key] = produced[output["producerTask"]][output["outputArtifactKey"]]
        parameters = {
            key: values[source["componentInputParameter"]]
            for key, source in task.get("inputs", {}).get("parameters", {}).items()
        }
        outputs = {
            key: os.path.join(scratch, "artifacts", name, key)
            for key in component.get("outputDefinitions", {}).get("artifacts", {})
        }
        for output_path in outputs.values():
            os.makedirs(os.path.dirname(output_path), exist_ok=True)

        def substitute(argument):
            def value(match):
                direction, kind, key, _ = match.groups()
                if kind == "artifacts":
                    return (inputs if direction == "inputs" else outputs)[key]
                parameter = parameters[key]
                return json.dumps(parameter) if isinstance(parameter, bool) else str(parameter)

            return PLACEHOLDER.sub(value, argument)

        workdir = os.path.join(scratch, "containers", name)
        shutil.copytree(repo, workdir, ignore=shutil.ignore_patterns(".mlops"))
        command = [mlopsc] + [substitute(part) for part in container["command"][1:] + container.get("args", [])]
        finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
        if finished.returncode != 0:
            fail(path, f"task {name} failed ({finished.returncode}): {' '.join(command)}\n{finished.stderr}")
        for key, output_path in outputs.items():
            if not os.path.isfile(output_path):
                fail(path, f"task {name} wrote no output artifact {key}")
            print(name, key, output_path)
        produced[name] = outputs


def main(arguments):
    if len(arguments) >= 2 and arguments[0] == "check":
        for path in arguments[1:]:
            spec, platform = documents(path)
            parse_strictly(path, spec, platform)
            check_references(path, spec, platform)
            recompile(path, spec, platform)
            compare_with_kfp(path, spec, platform)
            print(f"ok {path}: {len(spec['root']['dag']['tasks'])} tasks")
        return 0
    if len(arguments) == 3 and arguments[0] == "dsl":
        spec, platform = documents(arguments[1])
        with open(arguments[2], "w", encoding="utf-8") as handle:
            handle.write(equivalent_dsl(spec, platform))
        return 0
    if len(arguments) >= 5 and arguments[0] == "run":
        run(arguments[1], arguments[2], arguments[3], arguments[4], arguments[5:])
        return 0
    print(__doc__.strip().splitlines()[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
