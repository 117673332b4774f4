using RealTimeInference.Inference;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// The hub's one background loop: drains the outbox, encoding and delivering each prediction once.
/// Its last-resort guard logs a delivery that fails, counts its events as dropped, and goes on.
/// </summary>
internal sealed partial class StreamPump(PredictionHub hub, StreamMetrics metrics, ILogger<StreamPump> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outbox = hub.Outbox;
        try
        {
            while (await outbox.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                while (outbox.TryRead(out var outgoing))
                {
                    try
                    {
                        hub.Deliver(outgoing);
                    }
#pragma warning disable CA1031 // The last-resort guard: one bad delivery must not end the stream for everyone.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        LogDeliveryFailed(logger, ex, outgoing.Rows);
                        metrics.Dropped(StreamMetrics.PumpFault, outgoing.Rows);
                    }
                    finally
                    {
                        hub.Release(outgoing);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: subscribers' requests end with the server.
        }
    }

    [LoggerMessage(EventId = LogEvents.StreamPumpFault, Level = LogLevel.Error, Message = "Delivering {Rows} predictions to the stream failed; they were dropped and the stream goes on")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, int rows);
}
