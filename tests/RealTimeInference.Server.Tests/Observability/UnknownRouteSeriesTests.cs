using System.Net;

namespace RealTimeInference.Server.Tests.Observability;

public sealed class UnknownRouteSeriesTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private async Task<HashSet<string>> SeriesAsync()
    {
        var text = await _client.GetStringAsync("/metrics");
        // This server's request-driven series; the process-wide runtime series are not request-driven.
        return text.Split('\n')
            .Where(line => !line.StartsWith('#') && !line.StartsWith("dotnet_", StringComparison.Ordinal))
            .Where(line => line.Contains('{', StringComparison.Ordinal))
            .Select(line => line[..line.LastIndexOf(' ')])
            .ToHashSet();
    }

    [Fact]
    public async Task HundredThousandUnknownPaths_AddNoMetricSeries()
    {
        // One of each so every series an unknown path can touch exists before counting.
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/warm-up")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsync("/warm-up", null)).StatusCode);
        // Scraping is a request too: the second scrape sees the first one's series.
        await SeriesAsync();
        var before = await SeriesAsync();
        Assert.Contains(before, series => series.Contains("http_response_status_code=\"404\"", StringComparison.Ordinal));

        var random = new Random(42);
        var paths = Enumerable.Range(0, 100_000).Select(i => $"/{random.Next():x}/{i}?q={random.Next()}").ToArray();
        await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (path, cancellationToken) =>
        {
            using var response = path.Length % 2 == 0
                ? await _client.GetAsync(path, cancellationToken)
                : await _client.PostAsync(path, null, cancellationToken);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        });

        var added = (await SeriesAsync()).Except(before).ToArray();
        Assert.True(added.Length == 0, "New series: " + string.Join("\n", added));
    }
}
