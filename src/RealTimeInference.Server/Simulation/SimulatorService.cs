using System.Globalization;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Streaming;

namespace RealTimeInference.Server.Simulation;

/// <summary>
/// Runs the fab simulator in the server: each tick, one reading per tool and sensor goes through
/// the sensor model's batcher like any client's, and the predictions go to the stream hub.
/// </summary>
internal sealed partial class SimulatorService(
    IOptions<SimulatorOptions> options,
    SensorScorer scorer,
    PredictionHub hub,
    TimeProvider time,
    ILogger<SimulatorService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(1 / settings.RateHz);
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
        var features = new float[readings.Length * SensorFeatures.Count];
        var scores = new float[readings.Length];
        LogStarted(logger, settings.Tools, settings.SensorsPerTool, settings.RateHz);

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                simulator.NextTick(readings);
                for (var i = 0; i < readings.Length; i++)
                {
                    SensorFeatures.Write(readings[i].Reading, features.AsSpan(i * SensorFeatures.Count, SensorFeatures.Count));
                }

                var (model, result) = await scorer.ScoreAsync(features, scores, time.GetTimestamp(), stoppingToken).ConfigureAwait(false);
                if (model is null || !result.IsOk)
                {
                    if (result.Status != ScoreStatus.Cancelled)
                    {
                        LogTickSkipped(logger, result.Status, result.Error);
                    }

                    continue;
                }

                for (var i = 0; i < readings.Length; i++)
                {
                    var reading = readings[i].Reading;
                    hub.Publish(
                        PredictionSources.Simulator,
                        model,
                        features.AsSpan(i * SensorFeatures.Count, SensorFeatures.Count),
                        scores.AsSpan(i, 1),
                        new ReadingLabels(reading.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), reading.ToolId, reading.SensorId));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Simulator running: {Tools} tools x {Sensors} sensors at {RateHz} Hz")]
    private static partial void LogStarted(ILogger logger, int tools, int sensors, double rateHz);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Simulator tick not scored: {Status} {Error}")]
    private static partial void LogTickSkipped(ILogger logger, ScoreStatus status, string? error);
}
