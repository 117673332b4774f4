using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Tests.Health;

public sealed class DrainTests
{
    [Fact]
    public async Task Stopping_FailsReadinessAndRefusesNewWorkWith503WhileLivenessHolds()
    {
        await using var server = new ServerFixture();
        using var client = server.CreateClient();
        var before = await client.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });

        // What SIGTERM does first (ApplicationStopping; the wiring is tested with the loader service).
        server.Services.GetRequiredService<ModelRepository>().BeginDrain();
        var ready = await client.GetAsync("/health/ready");
        var live = await client.GetAsync("/health/live");
        var refused = await client.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("Draining", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
    }
}
