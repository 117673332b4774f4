namespace RealTimeInference.Inference.Models;

public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Folder of models (relative paths are under the app's base directory).</summary>
    public string ModelsPath { get; set; } = "models";

    /// <summary>Seconds of history the live latency/throughput monitor covers.</summary>
    public int MonitorWindowSeconds { get; set; } = 60;

    public string ResolveModelsPath() => Path.GetFullPath(ModelsPath, AppContext.BaseDirectory);
}
