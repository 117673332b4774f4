using Microsoft.Extensions.Time.Testing;
using RealTimeInference.LoadTest.Server;

namespace RealTimeInference.LoadTest.Tests.Server;

public sealed class RssSamplerTests
{
    private const string Status = """
        Name:	dotnet
        State:	S (sleeping)
        VmPeak:	 3402448 kB
        VmRSS:	  123456 kB
        RssAnon:	   80000 kB
        Threads:	24
        """;

    [Fact]
    public void ParseVmRssKb_ReadsTheVmRssLine() => Assert.Equal(123_456, RssSampler.ParseVmRssKb(Status));

    [Fact]
    public void ParseVmRssKb_WithoutTheLine_IsNull() => Assert.Null(RssSampler.ParseVmRssKb("Name:\tkthreadd\nState:\tS\n"));

    [Fact]
    public async Task StopAsync_ReportsStartMaxAndEndInMegabytes()
    {
        var time = new FakeTimeProvider();
        var readings = new Queue<long?>([100 * 1024, 300 * 1024, 200 * 1024]);
        var sampler = RssSampler.Start(() => readings.Dequeue(), TimeSpan.FromMilliseconds(100), time);

        time.Advance(TimeSpan.FromMilliseconds(100));
        var summary = await sampler.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotNull(summary);
        Assert.Equal(100, summary.StartMb);
        Assert.Equal(300, summary.MaxMb);
        Assert.Equal(200, summary.EndMb);
        Assert.Equal(3, summary.Samples);
    }

    [Fact]
    public async Task StopAsync_WhenTheProcessCannotBeRead_IsNull()
    {
        var sampler = RssSampler.Start(() => null, TimeSpan.FromMilliseconds(100), new FakeTimeProvider());

        Assert.Null(await sampler.StopAsync());
    }

    [Fact]
    public async Task Start_WithThisProcess_ReadsARealResidentSize()
    {
        await using var sampler = RssSampler.Start(Environment.ProcessId, TimeSpan.FromSeconds(10), TimeProvider.System);

        var summary = await sampler.StopAsync();

        Assert.NotNull(summary);
        Assert.InRange(summary.StartMb, 1, 100_000);
    }
}
