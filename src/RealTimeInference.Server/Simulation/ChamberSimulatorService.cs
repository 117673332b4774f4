using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Chambers;
using RealTimeInference.Inference;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Readings;

namespace RealTimeInference.Server.Simulation;

/// <summary>
/// Runs the chamber simulator in the server (Simulator:ChamberTools cluster tools, each with two etch
/// chambers and a strip chamber): each tick, one reading with its context per chamber goes through
/// <see cref="ReadingScoring"/> like any client's <c>/readings</c> — routed by Routing:Rules (by default
/// to the chamber's own <c>fdc-&lt;tool&gt;-&lt;chamber&gt;</c> model), stored, streamed and alerted on. Every
/// fault the simulator starts is logged with its chamber and time, so alerts can be checked against them.
/// </summary>
internal sealed partial class ChamberSimulatorService(
    IOptions<SimulatorOptions> options,
    IOptions<ReadingOptions> readingOptions,
    ReadingScoring scoring,
    TimeProvider time,
    ILogger<ChamberSimulatorService> logger) : BackgroundService
{
    private const string Client = "chamber-simulator";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled || settings.ChamberTools == 0)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(1 / settings.RateHz);
        var latencyClass = LatencyClasses.TryParse(readingOptions.Value.Class, out var parsed) ? parsed : LatencyClass.ProcessControl;
        var simulator = new ChamberSimulator(new ChamberSimulatorOptions
        {
            Tools = settings.ChamberTools,
            FaultRate = settings.FaultRate,
            Seed = settings.Seed,
            Interval = interval,
            Start = time.GetUtcNow(),
        });
        var readings = new ChamberReading[simulator.ChamberCount];
        LogStarted(logger, settings.ChamberTools, simulator.ChamberCount, settings.RateHz);

        using var timer = new PeriodicTimer(interval, time);
        var ticks = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                simulator.NextTick(readings);
                using var batch = new ReadingBatch(readings.Length, time.GetUtcNow());
                foreach (var reading in readings)
                {
                    var mark = batch.ValueMark;
                    for (var s = 0; s < reading.Values.Length; s++)
                    {
                        batch.AddValue(reading.Sensors[s], reading.Values[s]);
                    }

                    batch.Add(reading.Timestamp, new ReadingContext(reading.ToolId, reading.ChamberId, reading.Recipe, reading.Step, reading.LotId, reading.WaferId), mark);
                    if (reading.FaultStarts)
                    {
                        LogFaultStarted(logger, reading.Episode, reading.Fault!.Name, reading.ToolId, reading.ChamberId, reading.Timestamp, reading.Fault.Ticks);
                    }
                }

                var started = time.GetTimestamp();
                var score = await scoring.ScoreAsync(
                    batch,
                    isArray: true,
                    Deadline.For(latencyClass, started, time) with { Client = Client },
                    new PredictionOrigin(PredictionSource.Simulator, $"{Client}:{++ticks}", started),
                    stoppingToken).ConfigureAwait(false);
                if (!score.IsOk && score.Outcome != Outcome.Cancelled)
                {
                    LogTickSkipped(logger, score.Outcome.Label(), score.Errors?.Detail ?? score.Result.Error);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = LogEvents.ChamberSimulatorStarted, Level = LogLevel.Information, Message = "Chamber simulator running: {Tools} cluster tools, {Chambers} chambers at {RateHz} Hz")]
    private static partial void LogStarted(ILogger logger, int tools, int chambers, double rateHz);

    [LoggerMessage(
        EventId = LogEvents.ChamberSimulatorFault,
        Level = LogLevel.Information,
        Message = "Simulated fault {Episode} ({Fault}) starts on {ToolId} chamber {ChamberId} at {Timestamp:O}, lasting {Ticks} ticks")]
    private static partial void LogFaultStarted(ILogger logger, int episode, string fault, string toolId, string chamberId, DateTimeOffset timestamp, int ticks);

    [LoggerMessage(EventId = LogEvents.ChamberSimulatorTickSkipped, Level = LogLevel.Warning, Message = "Chamber simulator tick not scored: {Outcome} {Error}")]
    private static partial void LogTickSkipped(ILogger logger, string outcome, string? error);
}
