using System.Net.Http.Json;
using System.Text.Json;
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
        var failures = PageChecks.Failures(page);
        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        // One panel per simulated seed tool and per chamber of the simulated cluster tools (two, of three chambers each), each redrawn as its predictions arrive.
        await Assertions.Expect(page.Locator("article.tool")).ToHaveCountAsync(3 + 6);
        var firstTool = page.Locator("article.tool[data-tool='tool-01']");
        await Assertions.Expect(firstTool).ToHaveAttributeAsync("data-updates", new System.Text.RegularExpressions.Regex("^([3-9]|\\d{2,})$"));
        var before = int.Parse((await firstTool.GetAttributeAsync("data-updates"))!, System.Globalization.CultureInfo.InvariantCulture);
        await Assertions.Expect(firstTool).Not.ToHaveAttributeAsync("data-updates", before.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(int.Parse(await page.Locator("#events").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        // The chart holds points: Chart.js draws on the canvas, which is not blank.
        Assert.True(await PageChecks.DrawnAsync(page, "article.tool[data-tool='tool-01'] canvas.scores"));
        // Server figures come from /metrics.
        await Assertions.Expect(page.Locator("#p99")).Not.ToHaveTextAsync("–");

        var screenshot = BrowserFixture.ArtifactPath("dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);
        Assert.Empty(failures);
    }

    [Fact]
    public async Task Dashboard_InChromium_FiltersByToolAndChamber_ThePanelsTheAlertsAndTheAnomalies()
    {
        var page = await server.NewPageAsync();
        var failures = PageChecks.Failures(page);
        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator("article.tool")).ToHaveCountAsync(3 + 6);
        var chamber = page.Locator("article.tool[data-tool='etch-02'][data-chamber='C']");
        await Assertions.Expect(chamber.Locator(".tool-name")).ToHaveTextAsync("etch-02 · chamber C");
        // A chamber's panel plots its first sensor and its own model's scores.
        await Assertions.Expect(chamber.Locator("figcaption").First).ToHaveTextAsync("microwave_power");
        await Assertions.Expect(chamber).ToHaveAttributeAsync("data-updates", new System.Text.RegularExpressions.Regex("^([3-9]|\\d{2,})$"));

        await page.Locator("#filter-tool").SelectOptionAsync("etch-02");
        await Assertions.Expect(page.Locator("article.tool:visible")).ToHaveCountAsync(3);
        await page.Locator("#filter-chamber").SelectOptionAsync("C");
        await Assertions.Expect(page.Locator("article.tool:visible")).ToHaveCountAsync(1);
        await Assertions.Expect(chamber).ToBeVisibleAsync();
        // Alerts and anomalies of other places are hidden too: a seed tool's alert is not shown.
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var anomalies = Enumerable.Range(0, 3).Select(_ => new { tool_id = tool, sensor_id = "chamber-temp", temperature = 420.0, pressure = 1013.0, flow_rate = 100.0 }).ToArray();
        Assert.True((await client.PostAsJsonAsync("predict-batch", anomalies)).IsSuccessStatusCode);
        await Assertions.Expect(page.Locator("#alert-timeline li", new PageLocatorOptions { HasText = tool })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#alert-list li", new PageLocatorOptions { HasText = tool })).ToBeHiddenAsync();
        Assert.Equal(0, await page.Locator("#anomaly-list li:visible").Filter(new LocatorFilterOptions { HasNotText = "etch-02 C" }).CountAsync());

        await page.Locator("#filter-tool").SelectOptionAsync("");
        await page.Locator("#filter-chamber").SelectOptionAsync("");
        await Assertions.Expect(page.Locator("#alert-list li", new PageLocatorOptions { HasText = tool })).ToBeVisibleAsync();
        // The posted tool has its panel too, hidden until now.
        await Assertions.Expect(page.Locator("article.tool:visible")).ToHaveCountAsync(3 + 6 + 1);
        Assert.Empty(failures);
    }

    [Fact]
    public async Task Dashboard_InChromium_ShowsAnOpenAlert_AndItsAckButtonAcknowledgesIt()
    {
        var page = await server.NewPageAsync();
        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        // The alert stream is open and the open alerts listed: an alert fired from here on is shown.
        await Assertions.Expect(page.Locator("#alert-list")).ToHaveAttributeAsync("data-loaded", "true");
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var anomalies = Enumerable.Range(0, 3).Select(_ => new { tool_id = tool, sensor_id = "chamber-temp", temperature = 420.0, pressure = 1013.0, flow_rate = 100.0 }).ToArray();
        Assert.True((await client.PostAsJsonAsync("predict-batch", anomalies)).IsSuccessStatusCode);

        var alert = page.Locator("#alert-list li", new PageLocatorOptions { HasText = tool });
        await Assertions.Expect(alert).ToHaveAttributeAsync("data-state", "firing");
        // The button's own click event: a pointer click at coordinates can land beside it when an
        // alert the simulator fires meanwhile is listed above and moves it down.
        await alert.Locator("button.ack").DispatchEventAsync("click");

        await Assertions.Expect(alert).ToHaveAttributeAsync("data-state", "acknowledged");
        await Assertions.Expect(alert.Locator("button.ack")).ToHaveCountAsync(0);
        var id = await alert.GetAttributeAsync("data-alert-id");
        var stored = await client.GetFromJsonAsync<JsonElement>($"alerts/{id}");
        Assert.Equal("acknowledged", stored.GetProperty("state").GetString());
        Assert.Equal("dashboard", stored.GetProperty("timeline")[1].GetProperty("by").GetString());
        await Assertions.Expect(page.Locator("#alert-timeline li", new PageLocatorOptions { HasText = tool })).ToHaveCountAsync(2);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = BrowserFixture.ArtifactPath("dashboard-alert.png"), FullPage = true });
    }
}

/// <summary>What the dashboard's tests check on a page.</summary>
internal static class PageChecks
{
    /// <summary>The page's failed requests and console errors from now on.</summary>
    public static List<string> Failures(IPage page)
    {
        var failures = new List<string>();
        page.RequestFailed += (_, request) => failures.Add(request.Url);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                failures.Add($"{message.Text} ({message.Location})");
            }
        };
        return failures;
    }

    /// <summary>Whether Chart.js has drawn on the canvas <paramref name="selector"/> finds: it is not blank.</summary>
    public static Task<bool> DrawnAsync(IPage page, string selector) => page.EvaluateAsync<bool>(
        "selector => { const c = document.querySelector(selector); " +
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; return d.some(v => v !== 0); }",
        selector);
}
