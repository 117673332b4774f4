using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Fab.Process;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Simulation;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Optimizer;

/// <param name="Temperature">°C.</param>
/// <param name="Pressure">mbar.</param>
/// <param name="Flow">sccm.</param>
internal sealed record SetpointValues(double Temperature, double Pressure, double Flow)
{
    public static SetpointValues From(Setpoints s) => new(s.Temperature, s.Pressure, s.Flow);
}

/// <param name="Min">The lowest safe value of each setpoint.</param>
/// <param name="Max">The highest safe value of each setpoint.</param>
/// <param name="MaxStep">The largest move of each setpoint in one decision.</param>
internal sealed record LimitsView(SetpointValues Min, SetpointValues Max, SetpointValues MaxStep)
{
    public static LimitsView From(ProcessLimits l) => new(SetpointValues.From(l.Min), SetpointValues.From(l.Max), SetpointValues.From(l.MaxStep));
}

/// <summary>One optimizer decision, as stored.</summary>
/// <param name="Id">The decision's id (time-ordered).</param>
/// <param name="ToolId">The tool decided for.</param>
/// <param name="DecidedAt">When.</param>
/// <param name="Mode">The optimizer's mode then.</param>
/// <param name="Action">recommended (waiting to be applied), applied, kept (no gain worth the move, or a model that gave no yield), skipped (the yield model did not answer).</param>
/// <param name="Reason">Why, in a few words.</param>
/// <param name="Before">The setpoints when it decided.</param>
/// <param name="After">The setpoints recommended or applied (the same as before when kept or skipped).</param>
/// <param name="PredictedCurrent">The model's yield for the setpoints before.</param>
/// <param name="PredictedBest">The model's yield for the best safe candidate.</param>
/// <param name="PredictedGain">predicted_best - predicted_current.</param>
/// <param name="AppliedBy">Who applied it: "optimizer" in closed loop, else the authenticated client.</param>
/// <param name="AppliedAt">When it was applied.</param>
/// <param name="EffectiveLot">The first lot run after the decision (with the new setpoints, once applied).</param>
/// <param name="MeasuredYield">That lot's measured yield, once metrology reported it.</param>
internal sealed record DecisionView(
    string Id,
    string ToolId,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset DecidedAt,
    string Mode,
    string Action,
    string Reason,
    SetpointValues Before,
    SetpointValues After,
    double? PredictedCurrent,
    double? PredictedBest,
    double? PredictedGain,
    string? AppliedBy,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset? AppliedAt,
    long? EffectiveLot,
    double? MeasuredYield)
{
    public static DecisionView From(OptimizerDecision d) => new(
        d.Id,
        d.ToolId,
        d.DecidedAt,
        d.Mode,
        d.Action,
        d.Reason,
        new SetpointValues(d.TemperatureBefore, d.PressureBefore, d.FlowBefore),
        new SetpointValues(d.TemperatureAfter, d.PressureAfter, d.FlowAfter),
        d.PredictedCurrent,
        d.PredictedBest,
        d.PredictedGain,
        d.AppliedBy,
        d.AppliedAt,
        d.EffectiveLot,
        d.MeasuredYield);
}

/// <param name="ToolId">The tool.</param>
/// <param name="Setpoints">Its current recipe.</param>
/// <param name="ChamberAge">Wafers since its chamber's last maintenance.</param>
/// <param name="SafeRanges">Where the optimizer may take it, and how far per decision.</param>
/// <param name="PredictedYield">The model's yield for its current setpoints at the last decision (the best candidate's, when that decision applied it).</param>
/// <param name="MeasuredYield">The last lot metrology measured.</param>
/// <param name="LastDecision">The last decision for it.</param>
/// <param name="Recommendation">A recommendation waiting for POST /optimizer/tools/{tool_id}/apply, if any.</param>
internal sealed record ToolView(
    string ToolId,
    SetpointValues Setpoints,
    double ChamberAge,
    LimitsView SafeRanges,
    double? PredictedYield,
    double? MeasuredYield,
    DecisionView? LastDecision,
    DecisionView? Recommendation);

/// <param name="Mode">off, advisory or closed-loop.</param>
/// <param name="IntervalSeconds">Time between cycles.</param>
/// <param name="MinGain">The least predicted gain recommended.</param>
/// <param name="LastCycleMs">Server time of the last cycle (every tool), measured; null before the first.</param>
/// <param name="StoresDecisions">Whether decisions are kept in a results store.</param>
/// <param name="Tools">Every tool.</param>
internal sealed record OptimizerView(string Mode, double IntervalSeconds, double MinGain, double? LastCycleMs, bool StoresDecisions, IReadOnlyList<ToolView> Tools);

/// <param name="MeasuredAt">When metrology reported it.</param>
/// <param name="Lot">The lot number.</param>
/// <param name="Yield">Its measured yield.</param>
/// <param name="Setpoints">The recipe it ran with.</param>
/// <param name="ChamberAge">The chamber age it ran at.</param>
internal sealed record LotView([property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset MeasuredAt, long Lot, double Yield, SetpointValues Setpoints, double ChamberAge)
{
    public static LotView From(MeasuredLot l) => new(l.MeasuredAt, l.Number, l.Yield, SetpointValues.From(l.Setpoints), l.ChamberAge);
}

/// <param name="ToolId">The tool.</param>
/// <param name="Lots">Its measured lots, oldest first.</param>
/// <param name="Decisions">Its recent decisions, oldest first.</param>
internal sealed record ToolHistory(string ToolId, IReadOnlyList<LotView> Lots, IReadOnlyList<DecisionView> Decisions);

/// <param name="Mode">off, advisory or closed-loop.</param>
internal sealed record ModeRequest(string? Mode);

/// <param name="Mode">The mode now.</param>
internal sealed record ModeResponse(string Mode);

/// <param name="Decisions">Stored decisions, newest first.</param>
internal sealed record DecisionList(IReadOnlyList<DecisionView> Decisions);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OptimizerView))]
[JsonSerializable(typeof(ToolHistory))]
[JsonSerializable(typeof(DecisionView))]
[JsonSerializable(typeof(DecisionList))]
[JsonSerializable(typeof(ModeRequest))]
[JsonSerializable(typeof(ModeResponse))]
internal sealed partial class OptimizerJsonContext : JsonSerializerContext;
