using System.Diagnostics;
using System.Globalization;
using RealTimeInference.Bench;
using RealTimeInference.Fab.Process;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Onnx;

// Does the optimizer earn its keep? The simulated fab runs faster than real time (one lot per
// tool per step, --lot-minutes of simulated time apart) for --days, three times from the same seed,
// so every run sees the same metrology noise, anomaly episodes and maintenance: fixed nominal
// setpoints; a model-free hill climber; the model-based optimizer (SetpointSearch over the
// yield-forecast model, as the server's optimizer runs it) in closed loop. Prints mean measured
// and expected yield and safe-range violations per strategy; --png draws daily mean yield.
var culture = CultureInfo.InvariantCulture;
var settings = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["--models"] = "models",
    ["--days"] = "30",
    ["--tools"] = "10",
    ["--seed"] = "42",
    ["--lot-minutes"] = "30",
    ["--min-gain"] = "0.002",
    ["--png"] = "",
};
if (!BenchOptions.TryApply(args, 0, settings))
{
    return 2;
}

var days = double.Parse(settings["--days"], culture);
var tools = int.Parse(settings["--tools"], culture);
var seed = int.Parse(settings["--seed"], culture);
var lotMinutes = double.Parse(settings["--lot-minutes"], culture);
var minGain = double.Parse(settings["--min-gain"], culture);
var steps = (int)Math.Round(days * 24 * 60 / lotMinutes);
var limits = ProcessLimits.Default;

var folder = Path.Combine(settings["--models"], "yield-forecast");
var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
var version = Directory.GetDirectories(folder).Select(Path.GetFileName).Select(n => int.TryParse(n, out var v) ? v : 0).Max();
using var model = new OnnxScorer(Path.Combine(folder, version.ToString(culture), "model.onnx"), manifest);

IStrategy[] strategies = [new Fixed(), new HillClimber(limits, seed), new ModelOptimizer(model, limits, minGain)];
var results = new List<(string Name, double[] Daily, double Measured, double Expected, int Violations, TimeSpan Elapsed)>();
foreach (var strategy in strategies)
{
    var simulator = new ProcessSimulator(new ProcessSimulatorOptions { Tools = tools, Seed = seed });
    var lotsPerDay = 24 * 60 / lotMinutes;
    var daily = new double[(int)Math.Ceiling(days)];
    var perDay = new int[daily.Length];
    double measuredSum = 0, expectedSum = 0;
    var lots = 0;
    var violations = 0;
    var watch = Stopwatch.StartNew();
    IReadOnlyList<Lot> measured = [];
    for (var step = 0; step < steps; step++)
    {
        strategy.Decide(simulator, measured);
        for (var t = 0; t < tools; t++)
        {
            violations += limits.Contains(simulator.State(t).Setpoints) ? 0 : 1;
        }

        measured = simulator.Step();
        foreach (var lot in measured)
        {
            var day = Math.Min((int)((lot.Number - 1) / lotsPerDay), daily.Length - 1);
            daily[day] += lot.MeasuredYield;
            perDay[day]++;
            measuredSum += lot.MeasuredYield;
            expectedSum += lot.ExpectedYield;
            lots++;
        }
    }

    for (var d = 0; d < daily.Length; d++)
    {
        daily[d] = perDay[d] == 0 ? double.NaN : daily[d] / perDay[d];
    }

    results.Add((strategy.Name, daily, measuredSum / lots, expectedSum / lots, violations, watch.Elapsed));
}

Console.WriteLine(string.Create(culture, $"{tools} tools, {days} simulated days, {steps} lots a tool ({lotMinutes} min apart), seed {seed}, metrology delay {new ProcessSimulatorOptions().MetrologyDelayLots} lots, yield-forecast v{version}"));
Console.WriteLine($"{"strategy",-14} {"mean_measured",14} {"mean_expected",14} {"violations",10} {"run_s",6}");
foreach (var r in results)
{
    Console.WriteLine(string.Create(culture, $"{r.Name,-14} {r.Measured,14:F4} {r.Expected,14:F4} {r.Violations,10} {r.Elapsed.TotalSeconds,6:F1}"));
}

var (fixedRun, climber, optimizer) = (results[0], results[1], results[2]);
Console.WriteLine(string.Create(culture, $"optimizer - fixed: {(optimizer.Measured - fixedRun.Measured) * 100:F2} yield points; optimizer - hill climber: {(optimizer.Measured - climber.Measured) * 100:F2} yield points"));

if (settings["--png"] is { Length: > 0 } png)
{
    var plot = new ScottPlot.Plot();
    foreach (var r in results)
    {
        var line = plot.Add.Scatter(Enumerable.Range(1, r.Daily.Length).Select(d => (double)d).ToArray(), r.Daily);
        line.LegendText = string.Create(culture, $"{r.Name} (mean {r.Measured:F3})");
    }

    plot.Title(string.Create(culture, $"Daily mean measured yield, {tools} simulated tools, same seed and noise"));
    plot.XLabel("simulated day");
    plot.YLabel("measured yield");
    var lowest = results.Min(r => r.Daily.Where(double.IsFinite).Min());
    var highest = results.Max(r => r.Daily.Where(double.IsFinite).Max());
    plot.Axes.SetLimitsY(lowest - ((highest - lowest) * 0.6), highest + 0.01);
    plot.ShowLegend(ScottPlot.Alignment.LowerRight);
    plot.SavePng(png, 900, 420);
    Console.WriteLine($"wrote {png}");
}

return 0;

/// <summary>Sets each tool's recipe before its next lot, from what metrology measured in the last step.</summary>
internal interface IStrategy
{
    string Name { get; }

    void Decide(ProcessSimulator simulator, IReadOnlyList<Lot> measured);
}

/// <summary>The recipe as written, never touched.</summary>
internal sealed class Fixed : IStrategy
{
    public string Name => "fixed";

    public void Decide(ProcessSimulator simulator, IReadOnlyList<Lot> measured)
    {
    }
}

/// <summary>
/// What an engineer could do by hand: measure the yield at the current recipe, move one setpoint by
/// its largest step, wait for the yield of the first lot run that way, and keep the move if it beat
/// that baseline (the kept lot's yield is the next baseline: try the same move again); else go back,
/// measure the recipe again, and try the other direction or another setpoint.
/// </summary>
internal sealed class HillClimber(ProcessLimits limits, int seed) : IStrategy
{
    private readonly Random _random = new(seed);
    private readonly Dictionary<int, Trial> _trials = [];

    public string Name => "hill-climber";

    public void Decide(ProcessSimulator simulator, IReadOnlyList<Lot> measured)
    {
        foreach (var lot in measured)
        {
            var t = lot.Tool;
            var trial = _trials.GetValueOrDefault(t) ?? new Trial(null, double.NaN, 1, _random.Next(Setpoints.Count), 1);
            if (lot.Number < trial.FirstLot)
            {
                _trials[t] = trial;
                continue;
            }

            var current = simulator.State(t).Setpoints;
            if (trial.Previous is not { } previous)
            {
                // The baseline is measured: try the move.
                _trials[t] = Start(simulator, t, current, lot.MeasuredYield, trial.Setpoint, trial.Direction);
            }
            else if (lot.MeasuredYield > trial.Baseline)
            {
                _trials[t] = Start(simulator, t, current, lot.MeasuredYield, trial.Setpoint, trial.Direction);
            }
            else
            {
                simulator.Apply(t, previous);
                var (setpoint, direction) = trial.Direction > 0 ? (trial.Setpoint, -1) : (_random.Next(Setpoints.Count), 1);
                _trials[t] = new Trial(null, double.NaN, simulator.Lots + 1, setpoint, direction);
            }
        }
    }

    private Trial Start(ProcessSimulator simulator, int tool, Setpoints from, double baseline, int setpoint, int direction)
    {
        var trying = limits.Clamp(from.With(setpoint, from[setpoint] + (direction * limits.MaxStep[setpoint])));
        simulator.Apply(tool, trying);
        return new Trial(from, baseline, simulator.Lots + 1, setpoint, direction);
    }

    /// <summary>A move under way (<see cref="Previous"/> set) or a baseline being measured (null); either waits for lot <see cref="FirstLot"/>.</summary>
    private sealed record Trial(Setpoints? Previous, double Baseline, long FirstLot, int Setpoint, int Direction);
}

/// <summary>The server's optimizer in closed loop: candidates around each tool's setpoints, one batched model run per tool, the best applied when it gains enough.</summary>
internal sealed class ModelOptimizer(OnnxScorer model, ProcessLimits limits, double minGain) : IStrategy
{
    private readonly float[] _features = new float[SetpointSearch.CandidateCount * YieldFeatures.Count];
    private readonly float[] _predictions = new float[SetpointSearch.CandidateCount];

    public string Name => "optimizer";

    public void Decide(ProcessSimulator simulator, IReadOnlyList<Lot> measured)
    {
        for (var t = 0; t < simulator.ToolCount; t++)
        {
            var state = simulator.State(t);
            var candidates = SetpointSearch.Candidates(state.Setpoints, limits);
            for (var i = 0; i < candidates.Length; i++)
            {
                YieldFeatures.Write(state with { Setpoints = candidates[i] }, _features.AsSpan(i * YieldFeatures.Count, YieldFeatures.Count));
            }

            model.Score(_features, candidates.Length, _predictions);
            if (SetpointSearch.Choose(candidates, _predictions, limits, minGain).Recommended is { } better)
            {
                simulator.Apply(t, better);
            }
        }
    }
}
