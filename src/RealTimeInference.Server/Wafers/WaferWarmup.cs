namespace RealTimeInference.Server.Wafers;

/// <summary>Warms the wafer path at start, after the models have loaded (hosted services start in registration order).</summary>
internal sealed class WaferWarmup(WaferPredictor predictor) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        predictor.WarmUp();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
