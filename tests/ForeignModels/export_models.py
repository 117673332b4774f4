#!/usr/bin/python3
"""Exports the foreign test models (made by PyTorch, not by our ML.NET toolchain) and the answers
PyTorch itself gives for fixed inputs. Run from this folder with Debian's python3-torch and
python3-onnx:  /usr/bin/python3 export_models.py
It rewrites <model>/1/model.onnx and expected.json; the tests serve those files and compare the
server's outputs over V2 REST JSON, binary tensors and gRPC with expected.json within 1e-4."""
import json
import os

import onnx
import torch

torch.manual_seed(23)
HERE = os.path.dirname(os.path.abspath(__file__))

SENSORS = ["rf_power", "reflected_power", "chuck_temp", "wall_temp", "he_flow", "he_pressure",
           "throttle_position", "chamber_pressure", "ar_flow", "o2_flow", "bias_voltage", "endpoint_signal"]


class SensorMlp(torch.nn.Module):
    """Fault probability over a dozen named chamber sensors: FP32 [N, 12] -> FP32 [N, 1]."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1), torch.nn.Sigmoid())

    def forward(self, sensors):
        return self.net(sensors)


class RecipeModel(torch.nn.Module):
    """Two inputs of different datatypes and two outputs: FP32 x [N, 4] and INT64 recipe [N, 1] ->
    FP32 logits [N, 2] and INT64 label [N]."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(8, 3)
        self.head = torch.nn.Linear(7, 2)

    def forward(self, x, recipe):
        logits = self.head(torch.cat([x, self.embed(recipe[:, 0])], dim=1))
        return logits, torch.argmax(logits, dim=1)


class DefectCnn(torch.nn.Module):
    """A small CNN over a 1x28x28 image: FP32 [N, 1, 28, 28] -> FP32 probabilities [N, 3]."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.head = torch.nn.Linear(4 * 13 * 13, 3)

    def forward(self, image):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv(image)), 2)
        return torch.softmax(self.head(torch.flatten(x, 1)), dim=1)


def export(name, model, inputs, input_names, output_names):
    folder = os.path.join(HERE, name, "1")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    axes = {n: {0: "batch"} for n in input_names + output_names}
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, tuple(inputs), path, input_names=input_names, output_names=output_names,
                          dynamic_axes=axes, opset_version=17)
        outputs = model(*inputs)
    onnx.checker.check_model(onnx.load(path))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return {
        "inputs": {n: {"shape": list(t.shape), "data": t.flatten().tolist()} for n, t in zip(input_names, inputs)},
        "outputs": {n: {"shape": list(t.shape), "data": t.flatten().tolist()} for n, t in zip(output_names, outputs)},
    }


expected = {
    "fab-sensor-mlp": export("fab-sensor-mlp", SensorMlp(), [torch.randn(5, 12)], ["sensors"], ["fault_probability"]),
    "fab-recipe": export("fab-recipe", RecipeModel(), [torch.randn(4, 4), torch.tensor([[0], [3], [7], [5]], dtype=torch.int64)],
                         ["x", "recipe"], ["logits", "label"]),
    "fab-defect-cnn": export("fab-defect-cnn", DefectCnn(), [torch.rand(3, 1, 28, 28)], ["image"], ["probabilities"]),
}
expected["fab-sensor-mlp"]["features"] = SENSORS
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("exported", ", ".join(expected))
