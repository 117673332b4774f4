using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Options;

namespace RealTimeInference.LoadTest.Tests.Http;

public sealed class WaferScenarioTests
{
    [Fact]
    public void Parse_WaferScenario_WithImageSize()
    {
        var parsed = LoadOptionsParser.Parse(["--scenario", "wafer", "--image-size", "128"]);

        Assert.Equal([ScenarioKind.Wafer], parsed.Options!.Scenarios);
        Assert.Equal(128, parsed.Options.ImageSize);
        Assert.Equal(("/predict-wafer", (string?)null), RequestFactory.Paths(ScenarioKind.Wafer));
    }

    [Fact]
    public void Parse_ImageSizeOutOfRange_IsAnError() =>
        Assert.Null(LoadOptionsParser.Parse(["--scenario", "wafer", "--image-size", "4"]).Options);

    [Fact]
    public void CreateImages_GivesDecodablePngsOfEveryClassAtTheSize()
    {
        var images = RequestFactory.CreateImages(64, seed: 1, count: 18);
        var preprocessor = new ImagePreprocessor(new ImagePreprocessing(ImagePreprocessing.Grayscale, 64, 64, 1, [0], [1], ImagePreprocessing.Flat));

        Assert.Equal(18, images.Length);
        Assert.All(images, png => Assert.Equal((64, 64), Size(preprocessor.Preprocess(png, new float[4096]))));
        Assert.Equal(images, RequestFactory.CreateImages(64, seed: 1, count: 18));
    }

    [Fact]
    public async Task SendAsync_WaferSource_PostsPngAndRecordsTheServersBreakdown()
    {
        string? contentType = null;
        var handler = new FakeHandler((request, _) =>
        {
            contentType = request.Content!.Headers.ContentType!.MediaType;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent(
                    """{"defect_detected":true,"timings":{"preprocess_ms":0.2,"queue_ms":1.5,"inference_ms":0.4,"batch_images":3}}""",
                    Encoding.UTF8,
                    "application/json"),
            });
        });
        using var client = new HttpClient(handler);
        var timings = new ServerTimings();
        var source = new RequestSource(new Uri("http://server/predict-wafer"), [[1, 2, 3]], 1, "image/png", timings);

        var outcome = await new RequestSender(client, TimeSpan.FromSeconds(5), new FakeTimeProvider()).SendAsync(source);

        Assert.Equal(new RequestOutcome(OutcomeKind.Response, 200), outcome);
        Assert.Equal("image/png", contentType);
        var summary = timings.Summary();
        Assert.Equal(1, summary.Preprocess.Count);
        Assert.Equal(0.2, summary.Preprocess.P50Ms, 2);
        Assert.Equal(1.5, summary.Queue.P50Ms, 2);
        Assert.Equal(0.4, summary.Inference.P50Ms, 2);
        Assert.Equal(3, summary.MeanBatchImages);
    }

    [Fact]
    public void ServerTimings_IgnoresAnswersWithoutTimings()
    {
        var timings = new ServerTimings();

        timings.Record("""{"prediction":0.1}"""u8);
        timings.Record("not json"u8);

        Assert.Equal(0, timings.Summary().Preprocess.Count);
    }

    private static (int, int) Size(ImageResult result) => (result.Width, result.Height);
}
