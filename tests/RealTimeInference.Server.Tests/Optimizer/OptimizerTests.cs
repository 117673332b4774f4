using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Fab.Process;
using RealTimeInference.Server.Optimizer;
using RealTimeInference.Server.Simulation;

namespace RealTimeInference.Server.Tests.Optimizer;

/// <summary>
/// The server with its simulated tools standing still (Simulator:Enabled is false in tests): each
/// test runs lots (<see cref="FabProcess.RunLot"/>) and optimizer cycles itself, so nothing depends on timing.
/// </summary>
public sealed class OptimizerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private ProcessOptimizer Optimizer => server.Services.GetRequiredService<ProcessOptimizer>();

    private FabProcess Fab => server.Services.GetRequiredService<FabProcess>();

    private static Setpoints After(JsonElement decision) => Values(decision.GetProperty("after"));

    private static Setpoints Values(JsonElement s) =>
        new(s.GetProperty("temperature").GetDouble(), s.GetProperty("pressure").GetDouble(), s.GetProperty("flow").GetDouble());

    [Fact]
    public async Task ClosedLoop_Cycles_MoveEachToolAtMostOneStepADecision_InsideTheSafeRanges_TowardsHigherPredictedYield()
    {
        Optimizer.SetMode(OptimizerMode.ClosedLoop, "test");
        var limits = Optimizer.Limits;
        var applied = 0;
        for (var cycle = 0; cycle < 8; cycle++)
        {
            var before = Enumerable.Range(0, Fab.ToolCount).Select(t => Fab.State(t).Setpoints).ToArray();
            await Optimizer.CycleAsync(CancellationToken.None);
            Fab.RunLot();
            for (var t = 0; t < Fab.ToolCount; t++)
            {
                var now = Fab.State(t).Setpoints;
                Assert.True(limits.Contains(now));
                for (var i = 0; i < Setpoints.Count; i++)
                {
                    Assert.True(Math.Abs(now[i] - before[t][i]) <= limits.MaxStep[i] + 1e-9);
                }

                var last = Optimizer.View(t).Last!;
                if (last.Action == "applied")
                {
                    applied++;
                    Assert.Equal("optimizer", last.AppliedBy);
                    Assert.True(last.PredictedGain >= Optimizer.Options.MinGain);
                }
                else
                {
                    Assert.Equal(before[t], now);
                }
            }
        }

        // The tools start at the nominal recipe, which the model knows is off the optimum.
        Assert.True(applied >= Fab.ToolCount, $"{applied} decisions applied");
        Assert.NotNull(Optimizer.LastCycle);
    }

    [Fact]
    public async Task Advisory_RecommendationWaits_UntilApplyAppliesIt_AndTheDecisionRecordsWhoAndThen_TheMeasuredYield()
    {
        Optimizer.SetMode(OptimizerMode.Advisory, "test");
        var tool = Fab.ToolId(1);
        var start = Fab.State(1).Setpoints;
        var recommended = await RecommendAsync(tool);
        Assert.Equal(start, Fab.State(1).Setpoints);
        var state = await _client.GetFromJsonAsync<JsonElement>("/optimizer");
        Assert.Equal("advisory", state.GetProperty("mode").GetString());
        var view = state.GetProperty("tools").EnumerateArray().Single(t => t.GetProperty("tool_id").GetString() == tool);
        Assert.Equal(recommended.GetProperty("id").GetString(), view.GetProperty("recommendation").GetProperty("id").GetString());

        // Only the recommendation approved is applied: another id is refused and changes nothing.
        Assert.Equal(HttpStatusCode.Conflict, (await _client.PostAsync($"/optimizer/tools/{tool}/apply?decision_id=not-this-one", null)).StatusCode);
        Assert.Equal(start, Fab.State(1).Setpoints);
        var apply = await _client.PostAsync($"/optimizer/tools/{tool}/apply?decision_id={recommended.GetProperty("id").GetString()}", null);

        Assert.Equal(HttpStatusCode.OK, apply.StatusCode);
        var applied = await apply.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("applied", applied.GetProperty("action").GetString());
        Assert.StartsWith("ip:", applied.GetProperty("applied_by").GetString(), StringComparison.Ordinal);
        Assert.Equal(After(recommended), Fab.State(1).Setpoints);
        Assert.Equal(HttpStatusCode.Conflict, (await _client.PostAsync($"/optimizer/tools/{tool}/apply", null)).StatusCode);

        // Metrology reports the lot run with the new recipe two lots later; the next decision completes the record.
        var lot = applied.GetProperty("effective_lot").GetInt64();
        while (Fab.Measured(1).All(l => l.Number < lot))
        {
            Fab.RunLot();
        }

        await Optimizer.DecideAsync(1, automatic: true, CancellationToken.None);
        var measured = Fab.Measured(1).First(l => l.Number >= lot);
        Assert.Equal(After(recommended), measured.Setpoints);
        var history = await _client.GetFromJsonAsync<JsonElement>($"/optimizer/tools/{tool}/history");
        var record = history.GetProperty("decisions").EnumerateArray().Single(d => d.GetProperty("id").GetString() == applied.GetProperty("id").GetString());
        Assert.Equal(measured.Yield, record.GetProperty("measured_yield").GetDouble());
        Assert.NotEmpty(history.GetProperty("lots").EnumerateArray());

        // The store has it too, completed: the decision log writes in the background, so poll it (bounded).
        JsonElement stored = default;
        var give = DateTime.UtcNow.AddSeconds(30);
        while (stored.ValueKind != JsonValueKind.Object && DateTime.UtcNow < give)
        {
            var page = await _client.GetFromJsonAsync<JsonElement>($"/optimizer/decisions?tool_id={tool}&limit=1000");
            stored = page.GetProperty("decisions").EnumerateArray()
                .FirstOrDefault(d => d.GetProperty("id").GetString() == applied.GetProperty("id").GetString() && d.GetProperty("measured_yield").ValueKind == JsonValueKind.Number);
            if (stored.ValueKind != JsonValueKind.Object)
            {
                await Task.Delay(20);
            }
        }

        Assert.Equal(JsonValueKind.Object, stored.ValueKind);
        Assert.Equal("applied", stored.GetProperty("action").GetString());
        Assert.Equal(measured.Yield, stored.GetProperty("measured_yield").GetDouble());
    }

    [Fact]
    public async Task Apply_AfterTheRecipeMovedSinceTheRecommendation_Is409_AndChangesNothing()
    {
        Optimizer.SetMode(OptimizerMode.Advisory, "test");
        var tool = Fab.ToolId(2);
        await RecommendAsync(tool);
        var moved = Fab.State(2).Setpoints with { Temperature = Fab.State(2).Setpoints.Temperature + 0.5 };
        Fab.Apply(2, moved);

        var apply = await _client.PostAsync($"/optimizer/tools/{tool}/apply", null);

        Assert.Equal(HttpStatusCode.Conflict, apply.StatusCode);
        Assert.Equal(moved, Fab.State(2).Setpoints);
    }

    /// <summary>Asks for a decision until one recommends a move (running lots between, so the chamber ages and the model has something to say).</summary>
    private async Task<JsonElement> RecommendAsync(string tool)
    {
        JsonElement decision = default;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var response = await _client.PostAsync($"/optimizer/tools/{tool}/recommend", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            decision = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (decision.GetProperty("action").GetString() == "recommended")
            {
                return decision;
            }

            Fab.RunLot();
        }

        Assert.Fail($"no recommendation for {tool} in 20 decisions; the last: {decision}");
        return decision;
    }

    [Fact]
    public async Task Mode_PutChangesIt_AndABadModeIs400NamingTheField()
    {
        try
        {
            var ok = await _client.PutAsJsonAsync("/optimizer/mode", new { mode = "off" });
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("off", (await _client.GetFromJsonAsync<JsonElement>("/optimizer")).GetProperty("mode").GetString());

            var bad = await _client.PutAsJsonAsync("/optimizer/mode", new { mode = "autopilot" });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.True((await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("mode", out _));
            Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsync("/optimizer/tools/tool-99/recommend", null)).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/optimizer/decisions?limit=0")).StatusCode);
        }
        finally
        {
            Optimizer.SetMode(OptimizerMode.Advisory, "test");
        }
    }

    [Fact]
    public async Task Optimizer_ShowsEveryToolsSetpointsAndSafeRanges()
    {
        var state = await _client.GetFromJsonAsync<JsonElement>("/optimizer");

        var tools = state.GetProperty("tools").EnumerateArray().ToArray();
        Assert.Equal(Fab.ToolCount, tools.Length);
        var ranges = tools[0].GetProperty("safe_ranges");
        Assert.Equal(ProcessLimits.Default.Min, Values(ranges.GetProperty("min")));
        Assert.Equal(ProcessLimits.Default.Max, Values(ranges.GetProperty("max")));
        Assert.Equal(ProcessLimits.Default.MaxStep, Values(ranges.GetProperty("max_step")));
        Assert.True(state.GetProperty("stores_decisions").GetBoolean());
    }
}

/// <summary>A server whose yield model cannot be found: the optimizer keeps every recipe and says why.</summary>
public sealed class NoYieldModelFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Yield:Model", "no-such-model"), new("Optimizer:Mode", "closed-loop")];
}

public sealed class OptimizerWithoutModelTests(NoYieldModelFixture server) : IClassFixture<NoYieldModelFixture>
{
    [Fact]
    public async Task Cycle_WhenTheYieldModelDoesNotAnswer_KeepsTheSetpoints_AndRecordsWhy_AndRecommendIs503()
    {
        var optimizer = server.Services.GetRequiredService<ProcessOptimizer>();
        var fab = server.Services.GetRequiredService<FabProcess>();
        var before = fab.State(0).Setpoints;

        await optimizer.CycleAsync(CancellationToken.None);

        var last = optimizer.View(0).Last!;
        Assert.Equal("skipped", last.Action);
        Assert.Contains("unavailable", last.Reason, StringComparison.Ordinal);
        Assert.Equal(before, fab.State(0).Setpoints);
        var response = await server.CreateClient().PostAsync("/optimizer/tools/tool-01/recommend", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
    }
}

/// <summary>Bad optimizer settings stop the server at start, naming the setting.</summary>
public sealed class OptimizerSettingsTests
{
    private sealed class BadRangeFixture : ServerFixture
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
            [new("Optimizer:SafeRanges:temperature:Min", "400"), new("Optimizer:MaxStep:flow", "0")];
    }

    [Fact]
    public void Start_WithMinAboveMaxOrAZeroStep_FailsNamingEachSetting()
    {
        using var server = new BadRangeFixture();

        var error = Assert.ThrowsAny<Exception>(() => server.CreateClient());

        var message = error.ToString();
        Assert.Contains("Optimizer:SafeRanges:temperature", message, StringComparison.Ordinal);
        Assert.Contains("Optimizer:MaxStep:flow", message, StringComparison.Ordinal);
    }
}
