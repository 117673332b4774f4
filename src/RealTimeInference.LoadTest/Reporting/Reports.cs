namespace RealTimeInference.LoadTest.Reporting;

/// <summary>One measured run of one endpoint: <c>Role</c> is <c>target</c> or <c>baseline</c>.</summary>
internal sealed record RunResult(
    string Role, int Repeat, string Endpoint, int ReadingsPerRequest, RunMeasurement Measurement, RssSummary? ServerRss, ServerTimingSummary? ServerTimings = null)
{
    public double ReadingsPerSecond => Measurement.AchievedRps * ReadingsPerRequest;
}

/// <summary>The closed-loop run that found the target's max rate for <c>--rate-fraction</c>.</summary>
internal sealed record ProbeResult(double MaxRps, double Fraction, double OpenRateRps, RunMeasurement Measurement);

internal sealed record ScenarioReport(
    string Scenario,
    string Mode,
    string TargetEndpoint,
    string? BaselineEndpoint,
    int ReadingsPerRequest,
    double? RateRps,
    ProbeResult? Probe,
    IReadOnlyList<RunResult> Runs,
    MedianSummary Target,
    MedianSummary? Baseline,
    RatioSummary? TargetOverBaseline);

internal sealed record LaunchInfo(string Command, string LogPath, double StartToReadyMs, double? ShutdownMs, int? ExitCode);

internal sealed record BenchmarkReport(
    DateTimeOffset StartedAt,
    string Url,
    string Mode,
    int Connections,
    double DurationSeconds,
    double WarmupSeconds,
    int Repeats,
    int BatchSize,
    int Seed,
    int? ServerPid,
    LaunchInfo? Launch,
    RssSummary? ServerRss,
    IReadOnlyList<ScenarioReport> Scenarios);

/// <summary>The server's own breakdown of the target's requests (wafer scenario), from each answer's <c>timings</c>.</summary>
internal sealed record ServerTimingSummary(LatencySummary Preprocess, LatencySummary Queue, LatencySummary Inference, double MeanBatchImages);
