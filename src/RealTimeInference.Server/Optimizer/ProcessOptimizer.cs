using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Process;
using RealTimeInference.Inference;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Simulation;
using RealTimeInference.Server.Yield;

namespace RealTimeInference.Server.Optimizer;

/// <summary>A decision and, when the yield model did not answer, its outcome (the reason the setpoints were kept).</summary>
internal readonly record struct Decided(OptimizerDecision Decision, ScoreResult Score);

/// <summary>
/// The process optimizer: for a tool, candidates around its setpoints within one step and the safe
/// ranges (<see cref="SetpointSearch"/>), their yields forecast in one request through the yield
/// model's micro-batcher (yield-forecasting class: shed first under overload, and then the setpoints
/// are kept and the decision says why), the best recommended when it gains at least Optimizer:MinGain.
/// Advisory recommendations wait for <see cref="ApplyAsync"/>; closed loop applies them at once. Every
/// decision is kept (in the results store when there is one) and completed with the measured yield
/// of the first lot that followed it.
/// </summary>
internal sealed partial class ProcessOptimizer
{
    /// <summary>The optimizer's name as a client of the queues, and as the one who applies in closed loop.</summary>
    public const string Client = "optimizer";

    private const int MaxAwaiting = 64;

    private readonly FabProcess _fab;
    private readonly YieldScoring _scoring;
    private readonly DecisionLog _log;
    private readonly OptimizerMetrics _metrics;
    private readonly OptimizerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ProcessOptimizer> _logger;
    private readonly ToolSlot[] _tools;
    private volatile OptimizerMode _mode;

    public ProcessOptimizer(
        FabProcess fab, YieldScoring scoring, DecisionLog log, OptimizerMetrics metrics, IOptions<OptimizerOptions> options, TimeProvider time, ILogger<ProcessOptimizer> logger)
    {
        (_fab, _scoring, _log, _metrics, _options, _time, _logger) = (fab, scoring, log, metrics, options.Value, time, logger);
        Limits = _options.ToLimits();
        // Validated at start (OptimizerOptionsValidator).
        OptimizerModes.TryParse(_options.Mode, out var mode);
        _mode = mode;
        _tools = [.. Enumerable.Range(0, fab.ToolCount).Select(_ => new ToolSlot())];
    }

    public ProcessLimits Limits { get; }

    public OptimizerMode Mode => _mode;

    public OptimizerOptions Options => _options;

    private long _lastCycleTicks = -1;

    /// <summary>Server time of the last cycle; null before the first.</summary>
    public TimeSpan? LastCycle => Volatile.Read(ref _lastCycleTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;

    public FabProcess Fab => _fab;

    public DecisionLog Decisions => _log;

    /// <summary>The yield model the candidates are scored by.</summary>
    public string ScoringModel => _scoring.ModelName;

    public void SetMode(OptimizerMode mode, string by)
    {
        var previous = _mode;
        _mode = mode;
        LogModeChanged(_logger, previous.Name(), mode.Name(), by);
    }

    /// <summary>One decision for every tool, concurrently: each tool's candidates are one request, and they share batches.</summary>
    public async Task CycleAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, _tools.Length).Select(tool => DecideAsync(tool, automatic: true, cancellationToken))).ConfigureAwait(false);
        var elapsed = _time.GetElapsedTime(started);
        Volatile.Write(ref _lastCycleTicks, elapsed.Ticks);
        _metrics.Cycle(elapsed);
    }

    /// <summary>
    /// Decides for <paramref name="tool"/> now. <paramref name="automatic"/>: a cycle's decision, which
    /// closed loop applies; one asked for over HTTP is only recommended.
    /// </summary>
    public async Task<Decided> DecideAsync(int tool, bool automatic, CancellationToken cancellationToken)
    {
        var slot = _tools[tool];
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Complete(tool, slot);
            var state = _fab.State(tool);
            var candidates = SetpointSearch.Candidates(state.Setpoints, Limits);
            var states = candidates.Select(setpoints => state with { Setpoints = setpoints }).ToArray();
            var deadline = Deadline.For(LatencyClass.YieldForecasting, _time.GetTimestamp(), _time) with { Client = Client };
            var score = await _scoring.ScoreAsync(states, deadline, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            // The mode as it is now: a PUT /optimizer/mode during the model's answer is obeyed.
            var mode = _mode;
            var now = _time.GetUtcNow();
            var decision = New(tool, now, mode, state.Setpoints);
            if (!score.IsOk)
            {
                decision = decision with
                {
                    Action = Actions.Skipped,
                    Reason = $"the yield model did not answer ({score.Result.Outcome.Label()}): keeping the current setpoints",
                };
            }
            else
            {
                var search = SetpointSearch.Choose(candidates, score.Predictions, Limits, _options.MinGain);
                decision = decision with
                {
                    Reason = search.Reason,
                    PredictedCurrent = Finite(search.PredictedCurrent),
                    PredictedBest = Finite(search.PredictedBest),
                    PredictedGain = Finite(search.PredictedGain),
                };
                if (search.Recommended is not { } after)
                {
                    decision = decision with { Action = Actions.Kept };
                }
                else if (automatic && mode == OptimizerMode.ClosedLoop)
                {
                    decision = With(decision, after) with
                    {
                        Action = Actions.Applied,
                        AppliedBy = Client,
                        AppliedAt = now,
                        EffectiveLot = _fab.Apply(tool, after),
                    };
                }
                else
                {
                    decision = With(decision, after) with { Action = Actions.Recommended };
                }
            }

            Record(slot, decision, isNew: true);
            return new Decided(decision, score.Result);
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>
    /// Applies the tool's waiting recommendation; with <paramref name="decisionId"/>, only when that
    /// decision recommended the same setpoints (a later cycle may have recommended them again), so what
    /// an engineer approved is what runs. Null when nothing (or something else) waits, or when the
    /// recipe is no longer the one the recommendation stepped from.
    /// </summary>
    public async Task<OptimizerDecision?> ApplyAsync(int tool, string by, string? decisionId, CancellationToken cancellationToken)
    {
        var slot = _tools[tool];
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (slot.Pending is not { } pending || (decisionId is not null && !Approves(slot, decisionId, pending))
                || new Setpoints(pending.TemperatureBefore, pending.PressureBefore, pending.FlowBefore) != _fab.State(tool).Setpoints)
            {
                // Nothing waits, or not what was approved, or the recipe moved since: the step would not be the one recommended.
                return null;
            }

            var after = new Setpoints(pending.TemperatureAfter, pending.PressureAfter, pending.FlowAfter);
            if (!Limits.Contains(after))
            {
                // Recommendations come from SetpointSearch, inside the ranges by construction; this keeps that a guarantee.
                throw new InvalidOperationException($"Recommendation {pending.Id} is outside the safe ranges.");
            }

            var now = _time.GetUtcNow();
            var applied = pending with { Action = Actions.Applied, AppliedBy = by, AppliedAt = now, EffectiveLot = _fab.Apply(tool, after), MeasuredYield = null };
            Record(slot, applied, isNew: false);
            return applied;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>The tool's last decision, its waiting recommendation and its recent decisions, oldest first.</summary>
    public (OptimizerDecision? Last, OptimizerDecision? Pending, IReadOnlyList<OptimizerDecision> History) View(int tool)
    {
        var slot = _tools[tool];
        lock (slot.History)
        {
            return (slot.Last, slot.Pending, [.. slot.History]);
        }
    }

    private static bool Approves(ToolSlot slot, string decisionId, OptimizerDecision pending)
    {
        lock (slot.History)
        {
            return slot.History.Find(d => d.Id == decisionId) is { Action: Actions.Recommended } approved
                && (approved.TemperatureAfter, approved.PressureAfter, approved.FlowAfter) == (pending.TemperatureAfter, pending.PressureAfter, pending.FlowAfter);
        }
    }

    private OptimizerDecision New(int tool, DateTimeOffset now, OptimizerMode mode, Setpoints before) => new(
        Guid.CreateVersion7(now).ToString(),
        _fab.ToolId(tool),
        now,
        mode.Name(),
        Actions.Kept,
        "",
        before.Temperature,
        before.Pressure,
        before.Flow,
        before.Temperature,
        before.Pressure,
        before.Flow,
        null,
        null,
        null,
        null,
        null,
        _fab.NextLot,
        null);

    private static OptimizerDecision With(OptimizerDecision decision, Setpoints after) =>
        decision with { TemperatureAfter = after.Temperature, PressureAfter = after.Pressure, FlowAfter = after.Flow };

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>
    /// Keeps <paramref name="decision"/> and stores it. A new one becomes the tool's latest; a
    /// recommendation becomes the one waiting, and an applied or kept decision withdraws it (a skipped
    /// one, which knows nothing new, leaves it). A later form of a known one (same id: applied, or
    /// measured) replaces it where it is still held, and is stored either way.
    /// </summary>
    private void Record(ToolSlot slot, OptimizerDecision decision, bool isNew)
    {
        string? counted = null;
        lock (slot.History)
        {
            var index = slot.History.FindLastIndex(d => d.Id == decision.Id);
            if (isNew)
            {
                slot.History.Add(decision);
                if (slot.History.Count > _options.History)
                {
                    slot.History.RemoveAt(0);
                }

                slot.Last = decision;
                if (decision.Action != Actions.Skipped)
                {
                    slot.Pending = decision.Action == Actions.Recommended ? decision : null;
                }

                counted = decision.Action;
            }
            else
            {
                if (index >= 0)
                {
                    counted = slot.History[index].Action != decision.Action ? decision.Action : null;
                    slot.History[index] = decision;
                }

                if (slot.Last?.Id == decision.Id)
                {
                    slot.Last = decision;
                }

                if (slot.Pending?.Id == decision.Id)
                {
                    slot.Pending = decision.Action == Actions.Recommended ? decision : null;
                }
            }

            slot.Awaiting.RemoveAll(d => d.Id == decision.Id);
            if (decision.MeasuredYield is null)
            {
                if (slot.Awaiting.Count == MaxAwaiting)
                {
                    slot.Awaiting.RemoveAt(0);
                    _metrics.Dropped("unmeasured");
                }

                slot.Awaiting.Add(decision);
            }
        }

        if (counted is not null)
        {
            _metrics.Decided(counted);
        }

        _log.Save(decision);
    }

    /// <summary>Gives every tool's decisions the measured yields that arrived (the service calls it when cycles are off).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        for (var tool = 0; tool < _tools.Length; tool++)
        {
            var slot = _tools[tool];
            await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                Complete(tool, slot);
            }
            finally
            {
                slot.Gate.Release();
            }
        }
    }

    /// <summary>Gives each decision waiting for it the measured yield of the first lot run after it.</summary>
    private void Complete(int tool, ToolSlot slot)
    {
        List<OptimizerDecision> completed;
        var measured = _fab.Measured(tool);
        lock (slot.History)
        {
            completed = [];
            foreach (var decision in slot.Awaiting)
            {
                var lot = measured.FirstOrDefault(l => l.Number >= decision.EffectiveLot);
                if (lot.Number > 0)
                {
                    completed.Add(decision with { MeasuredYield = lot.Yield });
                }
            }
        }

        foreach (var decision in completed)
        {
            Record(slot, decision, isNew: false);
        }
    }

    [LoggerMessage(EventId = LogEvents.OptimizerModeChanged, Level = LogLevel.Information, Message = "Optimizer mode {Previous} -> {Mode} by {By}")]
    private static partial void LogModeChanged(ILogger logger, string previous, string mode, string by);

    private sealed class ToolSlot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public List<OptimizerDecision> History { get; } = [];

        public List<OptimizerDecision> Awaiting { get; } = [];

        public OptimizerDecision? Last { get; set; }

        public OptimizerDecision? Pending { get; set; }
    }
}

/// <summary>The decision actions, as stored and as the metric labels them.</summary>
internal static class Actions
{
    public const string Recommended = "recommended";
    public const string Applied = "applied";
    public const string Kept = "kept";
    public const string Skipped = "skipped";
}
