using System.Diagnostics;

namespace RealTimeInference.Server.Tests.Observability;

/// <summary>The alerting rules shipped in docker/prometheus are valid and fire when they should (promtool's own rule tests).</summary>
public sealed class PrometheusRulesTests
{
    private static string RulesFolder()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RealTimeInference.sln")))
            {
                return Path.Combine(folder.FullName, "docker", "prometheus");
            }
        }

        throw new InvalidOperationException("The repository root (RealTimeInference.sln) is not above the test binaries.");
    }

    private static async Task<(int ExitCode, string Output)> PromtoolAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("promtool") { WorkingDirectory = RulesFolder(), RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }

    [Fact]
    public async Task Rules_AreValid()
    {
        var (exitCode, output) = await PromtoolAsync("check", "rules", "rules.yml");

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task Rules_FireAndClearAsTheirUnitTestsSay()
    {
        var (exitCode, output) = await PromtoolAsync("test", "rules", "rules.test.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }
}
