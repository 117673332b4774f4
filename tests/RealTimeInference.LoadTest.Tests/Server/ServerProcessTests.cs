using RealTimeInference.LoadTest.Server;

namespace RealTimeInference.LoadTest.Tests.Server;

public sealed class ServerProcessTests
{
    [Fact]
    public async Task StopAsync_SendsSigtermToTheCommandItself()
    {
        var log = Path.GetTempFileName();
        using var server = ServerProcess.Start("sleep 60", log);

        var (elapsed, exitCode) = await server.StopAsync(TimeSpan.FromSeconds(10));

        Assert.True(server.HasExited);
        Assert.Equal(128 + 15, exitCode);
        Assert.True(elapsed < TimeSpan.FromSeconds(10));
        File.Delete(log);
    }

    [Fact]
    public async Task Start_AppendsTheCommandsOutputToTheLog()
    {
        var log = Path.Combine(Path.GetTempPath(), $"rti loadtest 'quoted' {Guid.NewGuid():N}.log");
        using var server = ServerProcess.Start("echo listening", log);
        await server.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("listening", server.LogTail(5));
        File.Delete(log);
    }

    [Theory]
    [InlineData("/tmp/a.log", "'/tmp/a.log'")]
    [InlineData("it's", "'it'\\''s'")]
    public void ShellQuote_KeepsAnyPathLiteral(string path, string expected) =>
        Assert.Equal(expected, ServerProcess.ShellQuote(path));
}
