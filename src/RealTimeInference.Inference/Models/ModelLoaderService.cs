using Microsoft.Extensions.Hosting;

namespace RealTimeInference.Inference.Models;

/// <summary>Loads the models before the server takes traffic and drains them on shutdown.</summary>
internal sealed class ModelLoaderService(ModelRepository repository) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        repository.LoadAll();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await repository.DisposeAsync().ConfigureAwait(false);
}
