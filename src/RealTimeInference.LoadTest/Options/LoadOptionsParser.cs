using System.Globalization;

namespace RealTimeInference.LoadTest.Options;

/// <summary>The outcome of reading the command line: options, a usage error, or a request for help.</summary>
internal sealed record ParseResult(LoadOptions? Options, string? Error, bool HelpRequested)
{
    public static ParseResult Help { get; } = new(null, null, true);
    public static ParseResult Fail(string error) => new(null, error, false);
}

/// <summary>Hand-rolled parsing: <c>--name value</c> or <c>--name=value</c>, then whole-option validation.</summary>
internal static class LoadOptionsParser
{
    public const string Usage = """
        Usage: RealTimeInference.LoadTest [options]

        Drives POST /predict and /predict-batch and, in the same run, their no-model
        baselines /baseline/predict and /baseline/predict-batch; reports latency
        percentiles, rates and status counts per repeat, their medians, and the
        target/baseline ratio of the medians.

          --url URL               server base address (default http://127.0.0.1:8000)
          --scenario S            predict | predict-batch | all (default predict), or:
                                  wafer: generated wafer-map PNGs to /predict-wafer (no baseline),
                                           with the server's preprocess / queue / inference breakdown
                                  ws-json: JSON readings over --connections pipelined WebSockets
                                           (baseline POST /predict); closed loop only
                                  ws-binary: binary frames of --batch-size rows over pipelined
                                           WebSockets (baseline POST /predict-batch); closed loop only
                                  sse-subscribers: POST /predict with --subscribers SSE subscribers
                                           reading /stream-predictions (baseline: none open)
          --mode M                closed | open (default closed)
          --connections N         closed: concurrent workers; both: max pooled connections (default 32)
          --duration D            measured time per run, e.g. 10s, 500ms, 2m (default 10s)
          --warmup D              unmeasured load before each run, and once per scenario on
                                  each endpoint to warm a fresh server (default 3s)
          --repeats N             baseline+target pairs per scenario (default 3)
          --rate R                open: requests per second, latency timed from each scheduled send
          --rate-fraction F       open: probe the target's max rate closed-loop, then run at F of it
          --probe-duration D      length of that probe (default 3s)
          --probe-connections N   concurrent workers of that probe (default --connections): overload
                                  runs offer many connections but should probe capacity with few
          --batch-size N          readings per predict-batch request or binary frame (default 1000)
          --image-size N          wafer: pixels a side of the generated PNGs (default 64)
          --pipeline N            ws-*: messages in flight per WebSocket (default 32)
          --subscribers N         sse-subscribers: SSE subscribers open during the target runs (default 100)
          --max-outstanding N     open: cap on requests in flight; sends past it wait and are counted (default 10000)
          --timeout D             per-request timeout (default 30s)
          --seed N                seed for the generated readings (default 42)
          --no-baseline           skip the baseline endpoints
          --server-pid PID        sample VmRSS of this process during each run
          --launch "CMD"          start the server with /bin/sh -c "exec CMD", time start-to-ready,
                                  sample its RSS, stop it with SIGTERM at the end; CMD is one
                                  command (set variables with env VAR=value CMD); refuses to
                                  start if something already answers at --url
          --server-log PATH       where the launched server's output goes (default: a temp file)
          --ready-timeout D       how long to wait for GET /health/ready to return 200 (default 60s)
          --rss-interval D        RSS sampling period (default 100ms)
          --json PATH             write the full report (every run and the medians) as JSON
          --header "NAME: VALUE"  add a header to every request and socket upgrade, e.g.
                                  "X-Api-Key: ..." (repeatable)
          -h, --help              show this text

        Exit codes: 0 success, 1 usage error, 2 target unreachable or server failed to start,
        3 the target endpoint returned no successful response, 130 cancelled.

        """;

    public static ParseResult Parse(IReadOnlyList<string> args)
    {
        var options = new LoadOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var (name, inlineValue) = SplitArgument(args[i]);
            if (name is "-h" or "--help")
            {
                return ParseResult.Help;
            }

            if (name == "--no-baseline")
            {
                options = options with { Baseline = false };
                continue;
            }

            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                return ParseResult.Fail($"unexpected argument '{args[i]}'");
            }

            var value = inlineValue;
            if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    return ParseResult.Fail($"option {name} needs a value");
                }

                value = args[++i];
            }

            var applied = Apply(options, name, value);
            if (applied.Error is not null)
            {
                return ParseResult.Fail(applied.Error);
            }

            options = applied.Options!;
        }

        var errors = options.Validate();
        return errors.Count == 0 ? new ParseResult(options, null, false) : ParseResult.Fail(string.Join("; ", errors));
    }

    private static (string Name, string? Value) SplitArgument(string argument)
    {
        var equals = argument.IndexOf('=', StringComparison.Ordinal);
        return argument.StartsWith("--", StringComparison.Ordinal) && equals > 2
            ? (argument[..equals], argument[(equals + 1)..])
            : (argument, null);
    }

    private static ParseResult Apply(LoadOptions o, string name, string value) => name switch
    {
        "--url" => Uri.TryCreate(value, UriKind.Absolute, out var url)
            ? Ok(o with { BaseUrl = url })
            : Invalid(name, value, "an absolute URL"),
        "--scenario" => value switch
        {
            "predict" => Ok(o with { Scenarios = [ScenarioKind.Predict] }),
            "predict-batch" => Ok(o with { Scenarios = [ScenarioKind.PredictBatch] }),
            "all" => Ok(o with { Scenarios = [ScenarioKind.Predict, ScenarioKind.PredictBatch] }),
            "wafer" => Ok(o with { Scenarios = [ScenarioKind.Wafer] }),
            "ws-json" => Ok(o with { Scenarios = [ScenarioKind.WsJson] }),
            "ws-binary" => Ok(o with { Scenarios = [ScenarioKind.WsBinary] }),
            "sse-subscribers" => Ok(o with { Scenarios = [ScenarioKind.SseSubscribers] }),
            _ => Invalid(name, value, "predict, predict-batch, all, wafer, ws-json, ws-binary or sse-subscribers"),
        },
        "--mode" => value switch
        {
            "closed" => Ok(o with { Mode = LoadMode.Closed }),
            "open" => Ok(o with { Mode = LoadMode.Open }),
            _ => Invalid(name, value, "closed or open"),
        },
        "--connections" => Int(name, value, n => o with { Connections = n }),
        "--duration" => Duration(name, value, d => o with { Duration = d }),
        "--warmup" => Duration(name, value, d => o with { Warmup = d }),
        "--repeats" => Int(name, value, n => o with { Repeats = n }),
        "--rate" => Number(name, value, r => o with { Rate = r }),
        "--rate-fraction" => Number(name, value, f => o with { RateFraction = f }),
        "--probe-duration" => Duration(name, value, d => o with { ProbeDuration = d }),
        "--probe-connections" => Int(name, value, n => o with { ProbeConnections = n }),
        "--batch-size" => Int(name, value, n => o with { BatchSize = n }),
        "--image-size" => Int(name, value, n => o with { ImageSize = n }),
        "--pipeline" => Int(name, value, n => o with { Pipeline = n }),
        "--subscribers" => Int(name, value, n => o with { Subscribers = n }),
        "--max-outstanding" => Int(name, value, n => o with { MaxOutstanding = n }),
        "--timeout" => Duration(name, value, d => o with { RequestTimeout = d }),
        "--seed" => Int(name, value, n => o with { Seed = n }),
        "--server-pid" => Int(name, value, n => o with { ServerPid = n }),
        "--launch" => Ok(o with { LaunchCommand = value }),
        "--server-log" => Ok(o with { ServerLog = value }),
        "--ready-timeout" => Duration(name, value, d => o with { ReadyTimeout = d }),
        "--rss-interval" => Duration(name, value, d => o with { RssInterval = d }),
        "--json" => Ok(o with { JsonPath = value }),
        "--header" => value.IndexOf(':', StringComparison.Ordinal) is var colon and > 0 && value[..colon].Trim().Length > 0
            ? Ok(o with { Headers = [.. o.Headers, (value[..colon].Trim(), value[(colon + 1)..].Trim())] })
            : Invalid(name, value, "NAME: VALUE"),
        _ => ParseResult.Fail($"unknown option '{name}'"),
    };

    private static ParseResult Int(string name, string value, Func<int, LoadOptions> apply) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? Ok(apply(n))
            : Invalid(name, value, "a whole number");

    private static ParseResult Number(string name, string value, Func<double, LoadOptions> apply) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x)
            ? Ok(apply(x))
            : Invalid(name, value, "a number");

    private static ParseResult Duration(string name, string value, Func<TimeSpan, LoadOptions> apply) =>
        DurationParser.TryParse(value, out var d)
            ? Ok(apply(d))
            : Invalid(name, value, "a duration such as 10s, 500ms or 2m");

    private static ParseResult Ok(LoadOptions options) => new(options, null, false);

    private static ParseResult Invalid(string name, string value, string expected) =>
        ParseResult.Fail($"{name} '{value}' is not valid: expected {expected}");
}
