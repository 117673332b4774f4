namespace RealTimeInference.LoadTest.Options;

internal enum ScenarioKind
{
    Predict,
    PredictBatch,
    /// <summary>POST /predict-wafer with generated wafer PNGs (no baseline endpoint).</summary>
    Wafer,
    /// <summary>JSON readings over pipelined WebSockets; baseline POST /predict.</summary>
    WsJson,
    /// <summary>Binary frames of --batch-size rows over pipelined WebSockets; baseline POST /predict-batch.</summary>
    WsBinary,
    /// <summary>POST /predict with --subscribers SSE subscribers open; baseline the same without them.</summary>
    SseSubscribers,
}

internal enum LoadMode
{
    Closed,
    Open,
}

/// <summary>Everything one invocation of the load test needs; defaults match the usage text.</summary>
internal sealed record LoadOptions
{
    public Uri BaseUrl { get; init; } = new("http://127.0.0.1:8000");
    public IReadOnlyList<ScenarioKind> Scenarios { get; init; } = [ScenarioKind.Predict];
    public LoadMode Mode { get; init; } = LoadMode.Closed;
    public int Connections { get; init; } = 32;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);
    public int Repeats { get; init; } = 3;
    public double? Rate { get; init; }
    public double? RateFraction { get; init; }
    public TimeSpan ProbeDuration { get; init; } = TimeSpan.FromSeconds(3);
    public int? ProbeConnections { get; init; }
    public int BatchSize { get; init; } = 1000;
    public int ImageSize { get; init; } = 64;
    public int Pipeline { get; init; } = 32;
    public int Subscribers { get; init; } = 100;
    public int MaxOutstanding { get; init; } = 10_000;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int Seed { get; init; } = 42;
    public bool Baseline { get; init; } = true;
    public int? ServerPid { get; init; }
    public string? LaunchCommand { get; init; }
    public string? ServerLog { get; init; }
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan RssInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    public string? JsonPath { get; init; }
    public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    public int ReadingsPerRequest(ScenarioKind scenario) => scenario is ScenarioKind.PredictBatch or ScenarioKind.WsBinary ? BatchSize : 1;

    /// <summary>Every rule the parser cannot check one option at a time.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BaseUrl.Scheme is not ("http" or "https"))
        {
            errors.Add("--url must be an http:// or https:// address");
        }

        if (Connections < 1)
        {
            errors.Add("--connections must be at least 1");
        }

        if (Duration <= TimeSpan.Zero)
        {
            errors.Add("--duration must be greater than zero");
        }

        if (Warmup < TimeSpan.Zero)
        {
            errors.Add("--warmup must not be negative");
        }

        if (Repeats < 1)
        {
            errors.Add("--repeats must be at least 1");
        }

        if (ImageSize is < 8 or > 4096)
        {
            errors.Add("--image-size must be within 8..4096");
        }

        if (BatchSize < 1)
        {
            errors.Add("--batch-size must be at least 1");
        }

        if (MaxOutstanding < 1)
        {
            errors.Add("--max-outstanding must be at least 1");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            errors.Add("--timeout must be greater than zero");
        }

        if (ProbeDuration <= TimeSpan.Zero)
        {
            errors.Add("--probe-duration must be greater than zero");
        }

        if (ProbeConnections is < 1)
        {
            errors.Add("--probe-connections must be at least 1");
        }

        if (ReadyTimeout <= TimeSpan.Zero)
        {
            errors.Add("--ready-timeout must be greater than zero");
        }

        if (RssInterval <= TimeSpan.Zero)
        {
            errors.Add("--rss-interval must be greater than zero");
        }

        ValidateRate(errors);

        if (Pipeline < 1)
        {
            errors.Add("--pipeline must be at least 1");
        }

        if (Subscribers < 1)
        {
            errors.Add("--subscribers must be at least 1");
        }

        if (Mode == LoadMode.Open && Scenarios.Any(s => s is ScenarioKind.WsJson or ScenarioKind.WsBinary))
        {
            errors.Add("the ws-json and ws-binary scenarios run closed loop (pipelined); drop --mode open");
        }

        if (ServerPid is not null && LaunchCommand is not null)
        {
            errors.Add("--server-pid and --launch cannot be used together (--launch samples the process it starts)");
        }

        if (ServerPid is <= 0)
        {
            errors.Add("--server-pid must be a positive process id");
        }

        if (LaunchCommand is not null && string.IsNullOrWhiteSpace(LaunchCommand))
        {
            errors.Add("--launch needs a command");
        }

        if (ServerLog is not null && LaunchCommand is null)
        {
            errors.Add("--server-log only applies with --launch");
        }

        return errors;
    }

    private void ValidateRate(List<string> errors)
    {
        if (Mode == LoadMode.Closed)
        {
            if (Rate is not null || RateFraction is not null)
            {
                errors.Add("--rate and --rate-fraction need --mode open");
            }

            return;
        }

        if (Rate is null == RateFraction is null)
        {
            errors.Add("--mode open needs exactly one of --rate or --rate-fraction");
        }

        if (Rate is { } rate && !(rate > 0 && double.IsFinite(rate)))
        {
            errors.Add("--rate must be a positive number of requests per second");
        }

        if (RateFraction is { } fraction && !(fraction > 0 && fraction <= 10))
        {
            errors.Add("--rate-fraction must be greater than 0 and at most 10");
        }
    }
}
