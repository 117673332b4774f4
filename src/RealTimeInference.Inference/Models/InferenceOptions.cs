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

/// <summary>Who decides which models are loaded (Triton's model control modes).</summary>
public enum ModelControl
{
    /// <summary>Every model folder is loaded, and reloaded when its files change (with <see cref="InferenceOptions.WatchModels"/>).</summary>
    Poll,
    /// <summary>Every model folder is loaded at start; after that only <c>POST /v2/repository/models/{name}/load|unload</c> load and unload, and files changing do nothing.</summary>
    Explicit,
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

    /// <summary>Poll (default: today's watcher) or Explicit (the repository API loads and unloads).</summary>
    public ModelControl ModelControl { get; set; } = ModelControl.Poll;

    /// <summary>
    /// Load no model at start: each is loaded by its first request (a fab with a model per chamber
    /// keeps only those in use loaded). The first request waits for the load.
    /// </summary>
    public bool LoadOnFirstUse { get; set; }

    /// <summary>
    /// The most models loaded at once (0: no limit). Loading one more unloads the least recently
    /// used one; with <see cref="LoadOnFirstUse"/> it loads again on its next request.
    /// </summary>
    public int MaxLoadedModels { get; set; }

    public string ResolveModelsPath() => Path.GetFullPath(ModelsPath, AppContext.BaseDirectory);
}
