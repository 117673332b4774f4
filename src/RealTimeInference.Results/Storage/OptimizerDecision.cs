namespace RealTimeInference.Results.Storage;

/// <summary>One decision of the process optimizer for one tool, as stored; saved again (same <see cref="Id"/>) when it is applied or its measured yield arrives.</summary>
/// <param name="Id">Unique, chosen by the caller (a Guid v7 string): saving the same id again replaces the row.</param>
/// <param name="ToolId">The tool it was decided for.</param>
/// <param name="DecidedAt">When it was decided: retention counts from here.</param>
/// <param name="Mode">The optimizer's mode then: <c>off</c>, <c>advisory</c> or <c>closed-loop</c>.</param>
/// <param name="Action">What became of it: <c>recommended</c>, <c>applied</c>, <c>kept</c> or <c>skipped</c>.</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="TemperatureBefore">The temperature setpoint before.</param>
/// <param name="PressureBefore">The pressure setpoint before.</param>
/// <param name="FlowBefore">The flow setpoint before.</param>
/// <param name="TemperatureAfter">The temperature setpoint after.</param>
/// <param name="PressureAfter">The pressure setpoint after.</param>
/// <param name="FlowAfter">The flow setpoint after.</param>
/// <param name="PredictedCurrent">The model's yield for the setpoints before; null when none was usable.</param>
/// <param name="PredictedBest">The model's yield for the best setpoints it found; null when none was usable.</param>
/// <param name="PredictedGain">The gain in yield the model expected of the change; null when none was usable.</param>
/// <param name="AppliedBy">Who applied it, once applied.</param>
/// <param name="AppliedAt">When it was applied, once applied.</param>
/// <param name="EffectiveLot">The simulator lot number from which the setpoints after ran.</param>
/// <param name="MeasuredYield">The measured yield of the first lot run after the decision; null until known.</param>
public sealed record OptimizerDecision(
    string Id,
    string ToolId,
    DateTimeOffset DecidedAt,
    string Mode,
    string Action,
    string Reason,
    double TemperatureBefore,
    double PressureBefore,
    double FlowBefore,
    double TemperatureAfter,
    double PressureAfter,
    double FlowAfter,
    double? PredictedCurrent,
    double? PredictedBest,
    double? PredictedGain,
    string? AppliedBy,
    DateTimeOffset? AppliedAt,
    long? EffectiveLot,
    double? MeasuredYield);

/// <summary>
/// The optimizer's decisions, newest first (by when they were decided, then id), for one tool or all,
/// up to <see cref="Limit"/>: 1..1000, which the caller checks, as for the other queries.
/// </summary>
public sealed record DecisionQuery(string? ToolId, int Limit = 100);
