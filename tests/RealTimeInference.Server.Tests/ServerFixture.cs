using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace RealTimeInference.Server.Tests;

/// <summary>The real server over the bundled models, in memory; one per test class.</summary>
public sealed class ServerFixture : WebApplicationFactory<Program>
{
    /// <summary>Another models folder instead of the bundled one.</summary>
    public string? ModelsPath { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            // Keep test output readable: only warnings from the server.
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Inference:ModelsPath"] = ModelsPath ?? "models",
        }));
    }
}
