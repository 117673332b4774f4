using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using RealTimeInference.Server.Tests.Browser;

namespace RealTimeInference.Server.Tests.Streaming;

/// <summary>The live page with the simulated process and the optimizer running fast: a lot and a cycle every 0.2 s.</summary>
public sealed class OptimizerPanelFixture : BrowserFixture
{
    protected override IEnumerable<string> ServerArgs =>
        ["--Simulator:Enabled=true", "--Simulator:Tools=2", "--Simulator:LotInterval=00:00:00.2", "--Optimizer:Interval=00:00:00.2", "--Optimizer:Mode=closed-loop"];
}

public sealed class OptimizerPanelTests(OptimizerPanelFixture server) : IClassFixture<OptimizerPanelFixture>
{
    /// <summary>The page polls every 2 s: a few polls fit in this.</summary>
    private static readonly LocatorAssertionsToHaveAttributeOptions FewPolls = new() { Timeout = 10_000 };

    [Fact]
    public async Task OptimizerPanels_InChromium_ShowEachToolsYieldAndSetpoints_Redrawn()
    {
        var page = await server.NewPageAsync();
        var failures = PageChecks.Failures(page);
        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator("article.optimizer-tool")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#optimizer-mode")).ToHaveTextAsync("closed-loop");
        await Assertions.Expect(page.Locator("#optimizer-cycle")).ToContainTextAsync(" ms ·");
        foreach (var tool in (string[])["tool-01", "tool-02"])
        {
            var panel = page.Locator($"article.optimizer-tool[data-tool='{tool}']");
            await Assertions.Expect(panel).ToHaveAttributeAsync("data-updates", new Regex("^([2-9]|\\d{2,})$"), FewPolls);
            var before = await panel.GetAttributeAsync("data-updates");
            await Assertions.Expect(panel).Not.ToHaveAttributeAsync("data-updates", before!, FewPolls);
            await Assertions.Expect(panel.Locator(".state")).ToContainTextAsync(new Regex("T \\d+(\\.\\d+)? °C · P .* mbar · F .* sccm · chamber age \\d+"));
        }

        // The yield chart holds measured lots, predictions and, closed loop applying, applied decisions;
        // the setpoints chart its three lines. Chart.js draws them on the canvas, which is not blank.
        await page.WaitForFunctionAsync(
            "() => { const c = Chart.getChart(document.querySelector(\"article.optimizer-tool[data-tool='tool-01'] canvas.yield\")); " +
            "return c.data.datasets.every(s => s.data.length > 0); }",
            null,
            new PageWaitForFunctionOptions { Timeout = 30_000 });
        Assert.Equal(3, await page.EvaluateAsync<int>(
            "() => Chart.getChart(document.querySelector(\"article.optimizer-tool[data-tool='tool-01'] canvas.setpoints\")).data.datasets.filter(s => s.data.length > 0).length"));
        Assert.True(await PageChecks.DrawnAsync(page, "article.optimizer-tool[data-tool='tool-01'] canvas.yield"));

        var screenshot = BrowserFixture.ArtifactPath("dashboard-optimizer.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);
        Assert.Empty(failures);
    }

    [Fact]
    public async Task OptimizerPanel_InChromium_SwitchesToAdvisory_AndItsApplyButtonAppliesTheRecommendation()
    {
        var page = await server.NewPageAsync();
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator("#optimizer-mode")).ToHaveTextAsync("closed-loop");
        try
        {
            var put = await page.RunAndWaitForResponseAsync(
                () => page.Locator("#optimizer-mode-choice").SelectOptionAsync("advisory"), r => r.Url.EndsWith("/optimizer/mode", StringComparison.Ordinal));
            Assert.Equal((int)HttpStatusCode.OK, put.Status);
            Assert.Equal("advisory", (await client.GetFromJsonAsync<JsonElement>("optimizer")).GetProperty("mode").GetString());
            await Assertions.Expect(page.Locator("#optimizer-mode")).ToHaveTextAsync("advisory");

            // The process drifts, so advisory cycles recommend within seconds; each cycle (0.2 s) replaces
            // the waiting recommendation or withdraws it, so one the page showed may be gone when the click
            // lands (409, and the next poll shows what waits now): then the next one is clicked.
            var panel = page.Locator("article.optimizer-tool[data-tool='tool-01']");
            var apply = panel.Locator("button.apply:enabled");
            var waited = Stopwatch.StartNew();
            IResponse response;
            do
            {
                var left = Math.Max(1, 30_000 - (float)waited.Elapsed.TotalMilliseconds);
                await Assertions.Expect(apply).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = left });
                response = await page.RunAndWaitForResponseAsync(
                    () => apply.DispatchEventAsync("click"), r => r.Url.Contains("/optimizer/tools/tool-01/apply?decision_id=", StringComparison.Ordinal));
            }
            while (response.Status == (int)HttpStatusCode.Conflict && waited.Elapsed < TimeSpan.FromSeconds(30));

            Assert.Equal((int)HttpStatusCode.OK, response.Status);
            var applied = (await response.JsonAsync())!.Value;
            Assert.Equal("applied", applied.GetProperty("action").GetString());
            var after = applied.GetProperty("after");
            var tool = (await client.GetFromJsonAsync<JsonElement>("optimizer")).GetProperty("tools")[0];
            Assert.Equal("tool-01", tool.GetProperty("tool_id").GetString());
            foreach (var name in (string[])["temperature", "pressure", "flow"])
            {
                Assert.Equal(after.GetProperty(name).GetDouble(), tool.GetProperty("setpoints").GetProperty(name).GetDouble());
            }

            // The panel polls at once after applying and shows the new setpoints (advisory: nothing else moves them).
            await Assertions.Expect(panel.Locator(".state")).ToContainTextAsync(
                $"T {Text(after, "temperature")} °C · P {Text(after, "pressure")} mbar · F {Text(after, "flow")} sccm");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = BrowserFixture.ArtifactPath("dashboard-optimizer-applied.png"), FullPage = true });
        }
        finally
        {
            // The other test reads the configured mode.
            Assert.True((await client.PutAsJsonAsync("optimizer/mode", new { mode = "closed-loop" })).IsSuccessStatusCode);
        }
    }

    /// <summary>A setpoint as the page writes it (at most two decimals, no trailing zeros).</summary>
    private static string Text(JsonElement setpoints, string name) =>
        Math.Round(setpoints.GetProperty(name).GetDouble(), 2).ToString(CultureInfo.InvariantCulture);
}
