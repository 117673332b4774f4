using RealTimeInference.LoadTest;
using RealTimeInference.LoadTest.Options;

var parsed = LoadOptionsParser.Parse(args);
if (parsed.HelpRequested)
{
    Console.Out.Write(LoadOptionsParser.Usage);
    return ExitCodes.Success;
}

if (parsed.Options is not { } options)
{
    Console.Error.WriteLine($"error: {parsed.Error}");
    Console.Error.WriteLine("Run with --help for the options.");
    return ExitCodes.Usage;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var session = new BenchmarkSession(options, Console.Out, Console.Error, TimeProvider.System);
return await session.RunAsync(cancel.Token);
