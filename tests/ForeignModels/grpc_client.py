#!/usr/bin/python3
"""A client that is not ours: Debian's python3-grpcio, with stubs compiled here from the
protocol's .proto by python3-grpc-tools, calls ModelInfer once and prints the answer as JSON.

  /usr/bin/python3 grpc_client.py HOST:PORT PROTO_DIR MODEL REQUEST_JSON

REQUEST_JSON: {"inputs": {name: {"datatype", "shape", "data"}}}; inputs go as raw_input_contents."""
import importlib
import json
import struct
import sys
import tempfile

import grpc
from grpc_tools import protoc

address, proto_dir, model, request_json = sys.argv[1:5]
out = tempfile.mkdtemp(prefix="rti-grpc-stubs-")
if protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}", f"{proto_dir}/grpc_predict_v2.proto"]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, out)
messages = importlib.import_module("grpc_predict_v2_pb2")
services = importlib.import_module("grpc_predict_v2_pb2_grpc")

FORMATS = {"FP32": "f", "FP64": "d", "INT64": "q", "INT32": "i", "BOOL": "?"}
request = messages.ModelInferRequest(model_name=model, id="python-grpcio")
for name, tensor in json.loads(request_json)["inputs"].items():
    request.inputs.add(name=name, datatype=tensor["datatype"], shape=tensor["shape"])
    request.raw_input_contents.append(struct.pack("<%d%s" % (len(tensor["data"]), FORMATS[tensor["datatype"]]), *tensor["data"]))

with grpc.insecure_channel(address) as channel:
    response = services.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=30)

answer = {}
for output, raw in zip(response.outputs, response.raw_output_contents):
    fmt = FORMATS[output.datatype]
    answer[output.name] = {"datatype": output.datatype, "shape": list(output.shape),
                           "data": list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw))}
print(json.dumps({"model_name": response.model_name, "id": response.id, "outputs": answer}))
