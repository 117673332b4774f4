using Microsoft.Playwright;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Server.Tests.Browser;
using Xunit.Abstractions;

namespace RealTimeInference.Server.Tests.Wafers;

/// <summary>Chromium with its fake camera: a generated test pattern stands in for the inspection camera.</summary>
public sealed class FakeCameraBrowserFixture : BrowserFixture
{
    protected override IEnumerable<string> BrowserArgs => ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"];
}

public sealed class InspectPageTests(FakeCameraBrowserFixture browser, ITestOutputHelper output) : IClassFixture<FakeCameraBrowserFixture>
{
    private static readonly PageWaitForFunctionOptions Patience = new() { Timeout = 30_000 };

    [Fact]
    public async Task InspectPage_UploadedWaferImage_ShowsTheVerdictAndClassProbabilities()
    {
        var page = await browser.NewPageAsync();
        var response = await page.GotoAsync("/inspect");
        Assert.Equal(200, response!.Status);

        await page.Locator("#file-input").SetInputFilesAsync(new FilePayload
        {
            Name = "center.png",
            MimeType = "image/png",
            Buffer = WaferImages.Png(WaferPattern.Center),
        });
        await page.WaitForFunctionAsync("() => document.getElementById('defect-type').textContent !== '—'", null, Patience);

        Assert.Equal("DEFECT DETECTED", await page.Locator("#verdict").TextContentAsync());
        Assert.Equal("center", await page.Locator("#defect-type").TextContentAsync());
        Assert.Equal(9, await page.Locator("#probabilities tr").CountAsync());
        Assert.NotEqual("—", await page.Locator("#latency").TextContentAsync());
        await Screenshot(page, "inspect-upload.png");
    }

    [Fact]
    public async Task InspectPage_FakeCamera_FramesFlow_AndItsTestPatternIsNotAWafer()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync("/inspect");
        await page.Locator("#fps").FillAsync("10");

        await page.Locator("#start-camera").ClickAsync();
        await page.WaitForFunctionAsync("() => Number(document.getElementById('answered').textContent) >= 3", null, Patience);

        // The browser's fake camera shows its own test pattern, no wafer: never "OK".
        Assert.Equal("NOT A WAFER", await page.Locator("#verdict").TextContentAsync());
        Assert.Contains(await page.Locator("#defect-type").TextContentAsync(), new[] { "blank", "no_wafer_region", "unreadable_levels" });
        Assert.Equal(0, await page.Locator("#probabilities tr").CountAsync());
        Assert.StartsWith("camera: ", await page.Locator("#error").TextContentAsync(), StringComparison.Ordinal);
        await Screenshot(page, "inspect-camera.png");
        await page.Locator("#stop-camera").ClickAsync();
    }

    private async Task Screenshot(IPage page, string name)
    {
        var path = BrowserFixture.ArtifactPath(name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }
}
