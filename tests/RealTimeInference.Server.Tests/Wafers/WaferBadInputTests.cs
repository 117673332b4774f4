using System.Net;
using System.Text;
using RealTimeInference.Fab.Tests.Wafers;
using RealTimeInference.Fab.Wafers;
using static RealTimeInference.Server.Tests.Wafers.WaferEndpointTests;

namespace RealTimeInference.Server.Tests.Wafers;

public sealed class WaferBadInputTests(WaferLimitsFixture server) : IClassFixture<WaferLimitsFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    public static TheoryData<string, byte[], string, int, string> BadImages => new()
    {
        { "corrupt bytes", Encoding.ASCII.GetBytes("this is not an image at all"), "image/png", 400, "image" },
        { "truncated PNG", Truncated(WaferImages.Png(WaferPattern.Loc)), "image/png", 400, "image" },
        { "zero-size body", [], "image/png", 400, "image" },
        { "JPEG header then garbage", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6], "image/jpeg", 400, "image" },
        { "20000x20000 header", ForgedPng.WithHeader(20_000, 20_000), "image/png", 413, "image" },
        { "body over the byte limit", new byte[WaferLimitsFixture.MaxImageBytes + 1], "image/png", 413, "image" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public async Task PredictWafer_BadImage_IsAProblemNamingTheImage_AndTheServerKeepsServing(
        string name, byte[] bytes, string mediaType, int status, string field)
    {
        var (response, body) = await PostAsync(_client, Image(bytes, mediaType));

        Assert.True(status == (int)response.StatusCode, $"{name}: {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), name);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task PredictWafer_WrongContentType_Is415Problem()
    {
        using var content = new StringContent("""{"frame":"abc"}""", Encoding.UTF8, "application/json");

        var (response, _) = await PostAsync(_client, content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task PredictWafer_MultipartWithOneBadPart_NamesThatPart()
    {
        using var form = new MultipartFormDataContent
        {
            { Image(WaferImages.Png(WaferPattern.Center)), "files", "good.png" },
            { Image(Encoding.ASCII.GetBytes("garbage")), "files", "bad.png" },
        };

        var (response, body) = await PostAsync(_client, form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(body.GetProperty("errors").TryGetProperty("files[1]", out _));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task PredictWafer_MultipartWithoutFiles_Is400()
    {
        using var form = new MultipartFormDataContent { { new StringContent("x"), "note" } };

        var (response, body) = await PostAsync(_client, form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(body.GetProperty("errors").TryGetProperty("files", out _));
    }

    [Fact]
    public async Task PredictWafer_MultipartCutOffBeforeItsClosingBoundary_Is400()
    {
        var bytes = WaferImages.Png(WaferPattern.Loc);
        var content = Image(bytes[..(bytes.Length / 2)], "multipart/form-data");
        content.Headers.ContentType!.Parameters.Add(new System.Net.Http.Headers.NameValueHeaderValue("boundary", "x"));

        var (response, body) = await PostAsync(_client, content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("malformed", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task PredictWafer_MultipartOverTheImageCount_Is413()
    {
        using var form = new MultipartFormDataContent();
        for (var i = 0; i <= WaferLimitsFixture.MaxImagesPerRequest; i++)
        {
            form.Add(Image(WaferImages.Png(WaferPattern.Random, i)), "files", $"{i}.png");
        }

        var (response, body) = await PostAsync(_client, form);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        // The limit actually hit is named: the image count, not the body size.
        Assert.Contains($"the limit is {WaferLimitsFixture.MaxImagesPerRequest} a request", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task PredictWafer_PartWithTwentyHeaders_Is413NamingTheHeaderLimit()
    {
        using var form = new MultipartFormDataContent();
        var part = Image(WaferImages.Png(WaferPattern.Random));
        for (var i = 0; i < 20; i++)
        {
            part.Headers.Add($"X-Extra-{i}", "x");
        }

        form.Add(part, "files", "headers.png");

        var (response, body) = await PostAsync(_client, form);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("at most 16 headers", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(body.GetProperty("errors").TryGetProperty("files[0]", out _));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task PredictWafer_MultipartOverTheByteLimit_Is413()
    {
        using var form = new MultipartFormDataContent { { Image(new byte[WaferLimitsFixture.MaxMultipartBytes + 1]), "files", "big.png" } };

        var (response, _) = await PostAsync(_client, form);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertStillServesAsync();
    }

    internal static byte[] Truncated(byte[] png) => png[..(png.Length / 2)];

    private async Task AssertStillServesAsync()
    {
        var (response, body) = await PostAsync(_client, Image(WaferImages.Png(WaferPattern.EdgeRing)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("edge-ring", body.GetProperty("defect_type").GetString());
    }
}

/// <summary>A server whose wafer requests may decode three 64 × 64 images' worth of pixels.</summary>
public sealed class WaferPixelBudgetFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Wafer:MaxImagePixels", "4096"),
        new("Wafer:MaxRequestPixels", "12288"),
    ];
}

public sealed class WaferPixelBudgetTests(WaferPixelBudgetFixture server) : IClassFixture<WaferPixelBudgetFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private static MultipartFormDataContent Form(int images)
    {
        var form = new MultipartFormDataContent();
        for (var i = 0; i < images; i++)
        {
            form.Add(WaferEndpointTests.Image(WaferImages.Png(WaferPattern.Loc, i)), "files", $"{i}.png");
        }

        return form;
    }

    [Fact]
    public async Task PredictWafer_ImagesOverTheRequestsPixelBudget_Are413BeforeAnyIsDecoded()
    {
        using var within = Form(3);
        using var over = Form(4);

        var (accepted, _) = await WaferEndpointTests.PostAsync(_client, within);
        var (refused, body) = await WaferEndpointTests.PostAsync(_client, over);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Contains("16384 pixels in all", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("Wafer:MaxRequestPixels", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
