namespace RealTimeInference.Inference.Models;

/// <summary>Where ONNX Runtime runs the models.</summary>
public enum ExecutionProvider
{
    Cpu,
    /// <summary>
    /// An NVIDIA GPU through CUDA: needs the build with <c>-p:OnnxRuntimeGpu=true</c> and the CUDA
    /// libraries; when either is missing the models run on the CPU (logged once).
    /// </summary>
    Cuda,
}

public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Folder of models (relative paths are under the app's base directory).</summary>
    public string ModelsPath { get; set; } = "models";

    /// <summary>Cpu (default) or Cuda.</summary>
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>The CUDA device to use when <see cref="ExecutionProvider"/> is Cuda.</summary>
    public int CudaDeviceId { get; set; }

    /// <summary>Seconds of history the live latency/throughput monitor covers.</summary>
    public int MonitorWindowSeconds { get; set; } = 60;

    /// <summary>Reload a model when files in its folder change (a new version folder, a new model.json), without a restart.</summary>
    public bool WatchModels { get; set; } = true;

    /// <summary>
    /// How long a model's folder must stay unchanged before the watcher reloads it, so a copy in
    /// progress is not loaded half-written.
    /// </summary>
    public TimeSpan WatchQuietPeriod { get; set; } = TimeSpan.FromSeconds(2);

    public string ResolveModelsPath() => Path.GetFullPath(ModelsPath, AppContext.BaseDirectory);
}
