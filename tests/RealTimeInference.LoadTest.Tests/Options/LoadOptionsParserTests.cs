using RealTimeInference.LoadTest.Options;

namespace RealTimeInference.LoadTest.Tests.Options;

public sealed class LoadOptionsParserTests
{
    [Fact]
    public void Parse_WithNoArguments_GivesDocumentedDefaults()
    {
        var options = Parse();

        Assert.Equal(new Uri("http://127.0.0.1:8000"), options.BaseUrl);
        Assert.Equal([ScenarioKind.Predict], options.Scenarios);
        Assert.Equal(LoadMode.Closed, options.Mode);
        Assert.Equal(32, options.Connections);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Duration);
        Assert.Equal(TimeSpan.FromSeconds(3), options.Warmup);
        Assert.Equal(3, options.Repeats);
        Assert.Equal(1000, options.BatchSize);
        Assert.True(options.Baseline);
        Assert.Null(options.Rate);
        Assert.Null(options.JsonPath);
    }

    [Fact]
    public void Parse_WithEveryOption_SetsEachOne()
    {
        var options = Parse(
            "--url", "http://10.0.0.5:9000", "--scenario", "all", "--mode", "open", "--connections", "8",
            "--duration", "5s", "--warmup", "500ms", "--repeats", "5", "--rate", "2500.5", "--batch-size", "250",
            "--max-outstanding", "64", "--timeout", "2s", "--seed", "7", "--no-baseline", "--server-pid", "1234",
            "--ready-timeout", "20s", "--rss-interval", "50ms", "--json", "out.json", "--probe-duration", "2s");

        Assert.Equal(new Uri("http://10.0.0.5:9000"), options.BaseUrl);
        Assert.Equal([ScenarioKind.Predict, ScenarioKind.PredictBatch], options.Scenarios);
        Assert.Equal(LoadMode.Open, options.Mode);
        Assert.Equal(8, options.Connections);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Duration);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Warmup);
        Assert.Equal(5, options.Repeats);
        Assert.Equal(2500.5, options.Rate);
        Assert.Equal(250, options.BatchSize);
        Assert.Equal(64, options.MaxOutstanding);
        Assert.Equal(TimeSpan.FromSeconds(2), options.RequestTimeout);
        Assert.Equal(7, options.Seed);
        Assert.False(options.Baseline);
        Assert.Equal(1234, options.ServerPid);
        Assert.Equal(TimeSpan.FromSeconds(20), options.ReadyTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.RssInterval);
        Assert.Equal("out.json", options.JsonPath);
        Assert.Equal(TimeSpan.FromSeconds(2), options.ProbeDuration);
        Assert.Equal(250, options.ReadingsPerRequest(ScenarioKind.PredictBatch));
        Assert.Equal(1, options.ReadingsPerRequest(ScenarioKind.Predict));
    }

    [Fact]
    public void Parse_WithEqualsForm_ReadsValue()
    {
        var options = Parse("--mode=open", "--rate-fraction=0.5", "--scenario=predict-batch");

        Assert.Equal(LoadMode.Open, options.Mode);
        Assert.Equal(0.5, options.RateFraction);
        Assert.Equal([ScenarioKind.PredictBatch], options.Scenarios);
    }

    [Fact]
    public void Parse_WithLaunch_KeepsTheWholeCommand()
    {
        const string Command = "dotnet src/RealTimeInference.Server/bin/Release/net10.0/RealTimeInference.Server.dll --urls http://127.0.0.1:8000";

        var options = Parse("--launch", Command, "--server-log", "/tmp/server.log");

        Assert.Equal(Command, options.LaunchCommand);
        Assert.Equal("/tmp/server.log", options.ServerLog);
    }

    [Fact]
    public void Parse_WithHeaders_KeepsEachInOrder()
    {
        var options = Parse("--header", "X-Latency-Class: emergency", "--header=X-Deadline-Ms:50");

        Assert.Equal([("X-Latency-Class", "emergency"), ("X-Deadline-Ms", "50")], options.Headers);
        Assert.Null(options.ProbeConnections);
        Assert.Equal(8, Parse("--probe-connections", "8").ProbeConnections);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Parse_WithHelp_AsksForHelp(string flag) => Assert.True(LoadOptionsParser.Parse([flag]).HelpRequested);

    [Theory]
    [InlineData("unknown option '--bogus'", "--bogus", "1")]
    [InlineData("option --duration needs a value", "--duration")]
    [InlineData("unexpected argument 'predict'", "predict")]
    [InlineData("--connections 'many' is not valid", "--connections", "many")]
    [InlineData("--duration 'soon' is not valid", "--duration", "soon")]
    [InlineData("--scenario 'train' is not valid", "--scenario", "train")]
    [InlineData("--mode 'half' is not valid", "--mode", "half")]
    [InlineData("--probe-connections must be at least 1", "--probe-connections", "0")]
    [InlineData("--header 'X-Latency-Class' is not valid", "--header", "X-Latency-Class")]
    [InlineData("--header ': emergency' is not valid", "--header", ": emergency")]
    [InlineData("--url 'localhost' is not valid", "--url", "localhost")]
    [InlineData("--url must be an http", "--url", "ftp://host/")]
    [InlineData("--connections must be at least 1", "--connections", "0")]
    [InlineData("--duration must be greater than zero", "--duration", "0s")]
    [InlineData("--repeats must be at least 1", "--repeats", "0")]
    [InlineData("--batch-size must be at least 1", "--batch-size", "0")]
    [InlineData("--rate and --rate-fraction need --mode open", "--rate", "100")]
    [InlineData("--mode open needs exactly one of --rate or --rate-fraction", "--mode", "open")]
    [InlineData("--mode open needs exactly one of --rate or --rate-fraction", "--mode", "open", "--rate", "10", "--rate-fraction", "0.5")]
    [InlineData("--rate must be a positive number", "--mode", "open", "--rate", "0")]
    [InlineData("--rate-fraction must be greater than 0", "--mode", "open", "--rate-fraction", "-0.5")]
    [InlineData("--server-pid and --launch cannot be used together", "--server-pid", "10", "--launch", "sleep 1")]
    [InlineData("--server-log only applies with --launch", "--server-log", "x.log")]
    [InlineData("--launch needs a command", "--launch", " ")]
    [InlineData("the ws-json and ws-binary scenarios run closed loop", "--scenario", "ws-binary", "--mode", "open", "--rate", "10")]
    [InlineData("--pipeline must be at least 1", "--scenario", "ws-json", "--pipeline", "0")]
    [InlineData("--subscribers must be at least 1", "--scenario", "sse-subscribers", "--subscribers", "0")]
    public void Parse_WithInvalidInput_ReportsTheOptionAtFault(string expected, params string[] args)
    {
        var result = LoadOptionsParser.Parse(args);

        Assert.Null(result.Options);
        Assert.False(result.HelpRequested);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ws-json", "WsJson", 1)]
    [InlineData("ws-binary", "WsBinary", 250)]
    [InlineData("sse-subscribers", "SseSubscribers", 1)]
    public void Parse_WithAStreamScenario_SetsItAndItsOptions(string name, string kind, int readingsPerRequest)
    {
        var scenario = Enum.Parse<ScenarioKind>(kind);
        var options = Parse("--scenario", name, "--pipeline", "16", "--subscribers", "50", "--batch-size", "250");

        Assert.Equal([scenario], options.Scenarios);
        Assert.Equal(16, options.Pipeline);
        Assert.Equal(50, options.Subscribers);
        Assert.Equal(readingsPerRequest, options.ReadingsPerRequest(scenario));
    }

    [Fact]
    public void Parse_WithSeveralProblems_ReportsAllOfThem()
    {
        var result = LoadOptionsParser.Parse(["--connections", "0", "--repeats", "0"]);

        Assert.Contains("--connections", result.Error, StringComparison.Ordinal);
        Assert.Contains("--repeats", result.Error, StringComparison.Ordinal);
    }

    private static LoadOptions Parse(params string[] args)
    {
        var result = LoadOptionsParser.Parse(args);
        Assert.Null(result.Error);
        return Assert.IsType<LoadOptions>(result.Options);
    }
}
