using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Simulation;

/// <summary>
/// Runs the fab simulator in the server: each tick, one reading per tool and sensor goes through
/// the sensor scoring service like any client's, and on to the stream and the other sinks. Each
/// tool's readings are centred on its current recipe (<see cref="FabProcess"/>).
/// </summary>
internal sealed partial class SimulatorService(
    IOptions<SimulatorOptions> options,
    IOptions<PredictionOptions> predictions,
    SensorScoring scoring,
    FabProcess process,
    TimeProvider time,
    ILogger<SimulatorService> logger) : BackgroundService
{
    /// <summary>The simulator's name as a client: its share of the queues is its own.</summary>
    private const string Client = "simulator";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(1 / settings.RateHz);
        var latencyClass = LatencyClasses.TryParse(predictions.Value.PredictClass, out var parsed) ? parsed : LatencyClass.ProcessControl;
        var simulator = new SensorSimulator(new SensorSimulatorOptions
        {
            Tools = settings.Tools,
            SensorsPerTool = settings.SensorsPerTool,
            AnomalyRate = settings.AnomalyRate,
            Seed = settings.Seed,
            Interval = interval,
            // Live timestamps; the seed still fixes the values.
            Start = time.GetUtcNow(),
        });
        var readings = new LabelledReading[simulator.ChannelCount];
        LogStarted(logger, settings.Tools, settings.SensorsPerTool, settings.RateHz);

        using var timer = new PeriodicTimer(interval, time);
        var ticks = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                for (var tool = 0; tool < process.ToolCount; tool++)
                {
                    var setpoints = process.State(tool).Setpoints;
                    simulator.SetMeans(tool, (float)setpoints.Temperature, (float)setpoints.Pressure, (float)setpoints.Flow);
                }

                simulator.NextTick(readings);
                using var batch = new SensorBatch(readings.Length, time.GetUtcNow());
                foreach (var reading in readings)
                {
                    batch.Add(reading.Reading);
                }

                // Streams carry no fallback marker, so they get no made-up safe default either.
                var started = time.GetTimestamp();
                var score = await scoring.ScoreAsync(
                    batch,
                    Deadline.For(latencyClass, started, time) with { Client = Client },
                    new PredictionOrigin(PredictionSource.Simulator, $"{Client}:{++ticks}", started),
                    safeDefault: false,
                    stoppingToken).ConfigureAwait(false);
                if (!score.IsOk && score.Outcome != Outcome.Cancelled)
                {
                    LogTickSkipped(logger, score.Outcome.Label(), score.Result.Error);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = LogEvents.SimulatorStarted, Level = LogLevel.Information, Message = "Simulator running: {Tools} tools x {Sensors} sensors at {RateHz} Hz")]
    private static partial void LogStarted(ILogger logger, int tools, int sensors, double rateHz);

    [LoggerMessage(EventId = LogEvents.SimulatorTickSkipped, Level = LogLevel.Warning, Message = "Simulator tick not scored: {Outcome} {Error}")]
    private static partial void LogTickSkipped(ILogger logger, string outcome, string? error);
}
