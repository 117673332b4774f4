using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Alerts;

/// <summary>An alert on the wire: <c>sensor_id</c> is null for a tool-level alert, which <c>sensors</c> joined.</summary>
internal sealed record AlertItem(
    long Id,
    string State,
    string Severity,
    string? ToolId,
    string? SensorId,
    string Model,
    float MaxScore,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset StartedAt,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset? AcknowledgedAt,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset? ResolvedAt,
    IReadOnlyList<string?> Sensors,
    IReadOnlyList<AlertStep> Timeline)
{
    public static AlertItem From(AlertView alert) => new(
        alert.Id,
        alert.State.Name(),
        alert.Severity.Name(),
        alert.ToolId,
        alert.SensorId,
        alert.Model,
        alert.MaxScore,
        alert.StartedAt,
        alert.AcknowledgedAt,
        alert.ResolvedAt,
        alert.Sensors,
        [.. alert.Timeline.Select(e => new AlertStep(e.Time, e.Kind, e.SensorId, e.Score, e.By, e.Note))]);
}

internal sealed record AlertStep(
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Time, string Kind, string? SensorId, float? Score, string? By, string? Note);

internal sealed record AlertList(IReadOnlyList<AlertItem> Items);

/// <summary>One change on <c>/stream-alerts</c>: what happened (fired, joined, acknowledged, resolved) and the alert after it.</summary>
internal sealed record AlertChangeItem(string Event, AlertItem Alert);

/// <summary>Who acknowledges, and why (optional).</summary>
internal sealed record AckRequest(string? By, string? Note);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AlertItem))]
[JsonSerializable(typeof(AlertList))]
[JsonSerializable(typeof(AckRequest))]
[JsonSerializable(typeof(AlertChangeItem))]
internal sealed partial class AlertJsonContext : JsonSerializerContext;
