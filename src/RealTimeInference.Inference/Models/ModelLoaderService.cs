using Microsoft.Extensions.Hosting;

namespace RealTimeInference.Inference.Models;

/// <summary>
/// Loads the models before the server takes traffic. On shutdown the repository drains at once
/// (readiness fails, new work is refused) and, when the host stops its services, answers what is
/// queued before freeing the sessions.
/// </summary>
internal sealed class ModelLoaderService(ModelRepository repository, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        repository.LoadAll();
        lifetime.ApplicationStopping.Register(repository.BeginDrain);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await repository.DisposeAsync().ConfigureAwait(false);
}
