using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace RealTimeInference.Server.Tests;

/// <summary>The real server over the bundled models, in memory; one per test class.</summary>
public class ServerFixture : WebApplicationFactory<Program>
{
    /// <summary>Another models folder instead of the bundled one.</summary>
    public string? ModelsPath { get; init; }

    /// <summary>This fixture's own results store file, deleted with it.</summary>
    public string ResultsPath { get; } = Path.Combine(Path.GetTempPath(), "rti-results-" + Guid.NewGuid().ToString("N"), "results.db");

    /// <summary>Configuration on top of appsettings.json, for fixtures that need the server set up otherwise.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration(config => config
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                // Keep test output readable: only warnings from the server.
                ["Serilog:MinimumLevel:Default"] = "Warning",
                ["Inference:ModelsPath"] = ModelsPath ?? "models",
                // Tests that change model files reload explicitly, except the watcher's own.
                ["Inference:WatchModels"] = "false",
                // The in-server simulator would add its own batches to every test's model; streaming tests turn it on.
                ["Simulator:Enabled"] = "false",
                ["Results:Path"] = ResultsPath,
            })
            .AddInMemoryCollection(Settings));
        builder.ConfigureTestServices(ConfigureTestServices);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Path.GetDirectoryName(ResultsPath) is { } folder && Directory.Exists(folder))
        {
            // Pooled SQLite connections hold the file open until the pool lets them go.
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
