using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Alerts;

/// <summary>
/// An alert on the wire: one per episode of its group (tool and chamber by default). <c>sensor_id</c>
/// opened it (null for a flood alert, <c>kind</c> flood); <c>sensors</c> are abnormal in it now;
/// <c>rules</c> fired in it, as <c>sensor: rule</c>; <c>folded</c> counts the alerts a flood alert took in.
/// </summary>
internal sealed record AlertItem(
    long Id,
    string State,
    string Severity,
    string Kind,
    string? ToolId,
    string? ChamberId,
    string? SensorId,
    string Model,
    float MaxScore,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset StartedAt,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset? AcknowledgedAt,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset? ResolvedAt,
    IReadOnlyList<string?> Sensors,
    IReadOnlyList<string> Rules,
    int Folded,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset? ShelvedUntil,
    IReadOnlyList<AlertStep> Timeline)
{
    public static AlertItem From(AlertView alert) => new(
        alert.Id,
        alert.State.Name(),
        alert.Severity.Name(),
        alert.Kind,
        alert.ToolId,
        alert.ChamberId,
        alert.SensorId,
        alert.Model,
        alert.MaxScore,
        alert.StartedAt,
        alert.AcknowledgedAt,
        alert.ResolvedAt,
        alert.Sensors,
        alert.Rules,
        alert.Folded,
        alert.ShelvedUntil,
        [.. alert.Timeline.Select(e => new AlertStep(e.Time, e.Kind, e.SensorId, e.Score, e.By, e.Note))]);
}

internal sealed record AlertStep(
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Time, string Kind, string? SensorId, float? Score, string? By, string? Note);

internal sealed record AlertList(IReadOnlyList<AlertItem> Items);

/// <summary>One change on <c>/stream-alerts</c>: what happened (fired, joined, acknowledged, resolved) and the alert after it.</summary>
internal sealed record AlertChangeItem(string Event, AlertItem Alert);

/// <summary>Who acknowledges, and why (optional).</summary>
internal sealed record AckRequest(string? By, string? Note);

/// <summary>How long to shelve an alert's group, who does, and why (required: shelving is audited).</summary>
internal sealed record ShelveRequest(int? Minutes, string? By, string? Reason);

/// <summary>A tool's new state (productive, maintenance, engineering), who sets it, and why.</summary>
internal sealed record ToolStateRequest(string? State, string? By, string? Note);

/// <summary>A tool's state, since when (null: never set, productive), set by whom and why.</summary>
internal sealed record ToolStateItem(
    string ToolId, string State, [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset? Since, string? By, string? Note)
{
    public static ToolStateItem From(ToolStateView view) => new(
        view.ToolId, view.State.ToString().ToLowerInvariant(), view.Since == DateTimeOffset.MinValue ? null : view.Since, view.By is "" ? null : view.By, view.Note);

    public static ToolState? Parse(string? state) => state switch
    {
        "productive" => ToolState.Productive,
        "maintenance" => ToolState.Maintenance,
        "engineering" => ToolState.Engineering,
        _ => null,
    };
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AlertItem))]
[JsonSerializable(typeof(AlertList))]
[JsonSerializable(typeof(AckRequest))]
[JsonSerializable(typeof(ShelveRequest))]
[JsonSerializable(typeof(ToolStateRequest))]
[JsonSerializable(typeof(ToolStateItem))]
[JsonSerializable(typeof(AlertChangeItem))]
internal sealed partial class AlertJsonContext : JsonSerializerContext;
