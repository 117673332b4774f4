# Sourced by the bench/ scripts that export their models with Debian's python3-torch (and python3-onnx,
# which torch.onnx.export needs): installs them when /usr/bin/python3 lacks them.
if ! /usr/bin/python3 -c "import torch, onnx" >/dev/null 2>&1; then
    echo "installing python3-torch and python3-onnx"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch python3-onnx >/dev/null
fi
