using System.Net;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Server.Tests.Models;
using static RealTimeInference.Server.Tests.Wafers.WaferEndpointTests;

namespace RealTimeInference.Server.Tests.Wafers;

/// <summary>
/// The bundled models, with the wafer model holding each batch open 20 ms (model.json
/// max_queue_delay_ms), so concurrent requests surely meet in one run however fast the machine is.
/// </summary>
public sealed class WaferBatchingFixture : ModelCopyServerFixture
{
    public WaferBatchingFixture()
    {
        var manifest = Path.Combine(ModelsPath!, "wafer-defect", "model.json");
        var text = File.ReadAllText(manifest);
        Assert.Contains("\"max_queue_delay_ms\": 0", text, StringComparison.Ordinal);
        File.WriteAllText(manifest, text.Replace("\"max_queue_delay_ms\": 0", "\"max_queue_delay_ms\": 20", StringComparison.Ordinal));
    }
}

public sealed class WaferBatchingTests(WaferBatchingFixture server) : IClassFixture<WaferBatchingFixture>
{
    [Fact]
    public async Task PredictWafer_ConcurrentImages_ShareModelRuns()
    {
        var client = server.CreateClient();
        var png = WaferImages.Png(WaferPattern.Donut);

        var answers = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => PostAsync(client, Image(png))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Response.StatusCode));
        Assert.Contains(answers, a => a.Body.GetProperty("timings").GetProperty("batch_images").GetInt32() > 1);
    }
}
