namespace RealTimeInference.Server.Predictions;

public sealed class PredictionOptions
{
    public const string Section = "Prediction";

    /// <summary>The model that scores sensor readings.</summary>
    public string SensorModel { get; set; } = "sensor-anomaly";

    /// <summary>Most readings one /predict-batch request may carry.</summary>
    public int MaxBatchReadings { get; set; } = 10_000;

    /// <summary>Largest /predict body, in bytes (413 above it).</summary>
    public long MaxRequestBytes { get; set; } = 16 * 1024;

    /// <summary>Largest /predict-batch body, in bytes (413 above it).</summary>
    public long MaxBatchRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The least Retry-After, in seconds, sent with 503; more when the queue's depth and the
    /// model's recent speed predict a longer wait.
    /// </summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Latency class of a /predict request that names none (X-Latency-Class).</summary>
    public string PredictClass { get; set; } = "process-control";

    /// <summary>Latency class of a /predict-batch request that names none.</summary>
    public string BatchClass { get; set; } = "process-control";

    /// <summary>Serve the no-model baseline endpoints (/baseline/...) that benchmarks compare against.</summary>
    public bool EnableBaseline { get; set; } = true;
}
