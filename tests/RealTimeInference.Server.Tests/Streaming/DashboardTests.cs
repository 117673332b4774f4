using Microsoft.Playwright;
using RealTimeInference.Server.Tests.Browser;

namespace RealTimeInference.Server.Tests.Streaming;

/// <summary>The live page with the simulator running fast enough for a test to watch it.</summary>
public sealed class DashboardFixture : BrowserFixture
{
    protected override IEnumerable<string> ServerArgs =>
        ["--Simulator:Enabled=true", "--Simulator:RateHz=10", "--Simulator:Tools=3", "--Simulator:SensorsPerTool=2", "--Simulator:AnomalyRate=0.2"];
}

public sealed class DashboardTests(DashboardFixture server) : IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task Dashboard_InChromium_ShowsPredictionsArrivingAndTheChartsUpdating()
    {
        var page = await server.NewPageAsync();
        var failures = new List<string>();
        page.RequestFailed += (_, request) => failures.Add(request.Url);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                failures.Add($"{message.Text} ({message.Location})");
            }
        };

        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        // One panel per simulated tool, each redrawn as its predictions arrive.
        await Assertions.Expect(page.Locator("article.tool")).ToHaveCountAsync(3);
        var firstTool = page.Locator("article.tool[data-tool='tool-01']");
        await Assertions.Expect(firstTool).ToHaveAttributeAsync("data-updates", new System.Text.RegularExpressions.Regex("^([3-9]|\\d{2,})$"));
        var before = int.Parse((await firstTool.GetAttributeAsync("data-updates"))!, System.Globalization.CultureInfo.InvariantCulture);
        await Assertions.Expect(firstTool).Not.ToHaveAttributeAsync("data-updates", before.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(int.Parse(await page.Locator("#events").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        // The chart holds points: Chart.js draws on the canvas, which is not blank.
        var drawn = await page.EvaluateAsync<bool>(
            "() => { const c = document.querySelector(\"article.tool[data-tool='tool-01'] canvas.scores\"); " +
            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; return d.some(v => v !== 0); }");
        Assert.True(drawn);
        // Server figures come from /metrics.
        await Assertions.Expect(page.Locator("#p99")).Not.ToHaveTextAsync("–");

        var screenshot = BrowserFixture.ArtifactPath("dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);
        Assert.Empty(failures);
    }
}
