using RealTimeInference.Inference;

namespace RealTimeInference.Server.Optimizer;

/// <summary>Runs an optimizer cycle every Optimizer:Interval while the mode is not off and the simulated process runs.</summary>
internal sealed partial class OptimizerService(ProcessOptimizer optimizer, TimeProvider time, ILogger<OptimizerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!optimizer.Fab.Running)
        {
            return;
        }

        using var timer = new PeriodicTimer(optimizer.Options.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    // Off: no decisions, but the last ones still get the yields that followed them.
                    await (optimizer.Mode == OptimizerMode.Off ? optimizer.CompleteAsync(stoppingToken) : optimizer.CycleAsync(stoppingToken)).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The last-resort guard: a fault in one cycle must not stop the next.
                    LogCycleFault(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = LogEvents.OptimizerCycleFault, Level = LogLevel.Error, Message = "Optimizer cycle failed; the next one runs as planned")]
    private static partial void LogCycleFault(ILogger logger, Exception error);
}
