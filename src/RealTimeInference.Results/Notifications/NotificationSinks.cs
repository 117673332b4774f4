using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Results.Alerts;

namespace RealTimeInference.Results.Notifications;

/// <summary>A receiver of alert notifications; its name (from configuration) labels its metrics.</summary>
public interface INotificationSink
{
    string Name { get; }

    /// <summary>Sends one notification; true when the receiver took it (2xx).</summary>
    Task<bool> SendAsync(Notification notification, CancellationToken cancellationToken);
}

/// <summary>How notifications describe an alert, the same for every sink.</summary>
internal static class AlertText
{
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static string Summary(AlertView alert) =>
        $"{(alert.SensorId is null ? $"{alert.Sensors.Count} sensors of" : $"Sensor {alert.SensorId} of")} {alert.ToolId ?? "an unnamed tool"}" +
        $"{(alert.ChamberId is null ? "" : $" chamber {alert.ChamberId}")}: {(alert.Kind == "anomaly" ? "anomalies" : alert.Kind)} " +
        $"({string.Join(", ", alert.Rules.DefaultIfEmpty(alert.Model))}, max score {alert.MaxScore.ToString("0.###", CultureInfo.InvariantCulture)})";

    public static Uri Link(Uri publicUrl, AlertView alert) => new(publicUrl, $"alerts/{alert.Id}");
}

/// <summary>
/// POSTs JSON on every change of every alert; <c>text</c> makes the body a valid Slack
/// incoming-webhook message. With a secret the body is signed (<c>X-RTI-Signature</c>); every
/// notification carries its id (<c>X-RTI-Notification-Id</c>) so a receiver can drop a repeat.
/// </summary>
internal sealed class WebhookSink(string name, WebhookOptions options, Uri publicUrl, HttpClient http) : INotificationSink
{
    public const string SignatureHeader = "X-RTI-Signature";
    public const string IdHeader = "X-RTI-Notification-Id";

    public string Name => name;

    public async Task<bool> SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        var alert = notification.Alert;
        var summary = AlertText.Summary(alert);
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new WebhookBody(
                alert.Id,
                alert.State.Name(),
                notification.Event.Kind,
                alert.Severity.Name(),
                alert.ToolId,
                alert.ChamberId,
                alert.Kind,
                alert.SensorId,
                alert.Sensors,
                alert.Rules,
                alert.Model,
                alert.MaxScore,
                AlertText.Time(alert.StartedAt),
                alert.ResolvedAt is { } resolved ? AlertText.Time(resolved) : null,
                summary,
                $"[{alert.Severity.Name()}] {summary}: {notification.Event.Kind}. {AlertText.Link(publicUrl, alert)}"),
            NotificationJson.Default.WebhookBody);
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add(IdHeader, notification.Seq.ToString(CultureInfo.InvariantCulture));
        if (options.Secret is { Length: > 0 } secret)
        {
            request.Headers.Add(SignatureHeader, "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        }

        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }
}

/// <summary>
/// Alertmanager's API v2: each open alert with its labels, annotations and <c>startsAt</c>; a
/// resolved one with <c>endsAt</c>. Alertmanager groups, deduplicates and routes them.
/// </summary>
internal sealed class AlertmanagerSink(Uri url, Uri publicUrl, HttpClient http) : INotificationSink
{
    public const string AlertName = "SensorAnomaly";

    public string Name => NotificationOptions.AlertmanagerName;

    public Task<bool> SendAsync(Notification notification, CancellationToken cancellationToken) => PostAsync([notification.Alert], cancellationToken);

    /// <summary>Tells Alertmanager of <paramref name="alerts"/> as they stand (the periodic resend of the open ones too).</summary>
    public async Task<bool> PostAsync(IReadOnlyList<AlertView> alerts, CancellationToken cancellationToken)
    {
        var body = alerts.Select(alert => new AlertmanagerAlert(
            new Dictionary<string, string>
            {
                ["alertname"] = AlertName,
                ["alert_id"] = alert.Id.ToString(CultureInfo.InvariantCulture),
                ["tool_id"] = alert.ToolId ?? "",
                ["chamber_id"] = alert.ChamberId ?? "",
                ["kind"] = alert.Kind,
                ["sensor_id"] = alert.SensorId ?? "",
                ["model"] = alert.Model,
                ["severity"] = alert.Severity.Name(),
            },
            new Dictionary<string, string>
            {
                ["summary"] = AlertText.Summary(alert),
                ["description"] = $"{AlertText.Summary(alert)}; {alert.State.Name()} since {AlertText.Time(alert.StartedAt)}.",
                ["score"] = alert.MaxScore.ToString("R", CultureInfo.InvariantCulture),
            },
            AlertText.Time(alert.StartedAt),
            alert.ResolvedAt is { } resolved ? AlertText.Time(resolved) : null,
            AlertText.Link(publicUrl, alert).ToString())).ToList();
        using var response = await http.PostAsJsonAsync(new Uri(url, "api/v2/alerts"), body, NotificationJson.Default.ListAlertmanagerAlert, cancellationToken)
            .ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }
}

internal sealed record WebhookBody(
    long AlertId,
    string State,
    string Event,
    string Severity,
    string? ToolId,
    string? ChamberId,
    string Kind,
    string? SensorId,
    IReadOnlyList<string?> Sensors,
    IReadOnlyList<string> Rules,
    string Model,
    float Score,
    string StartedAt,
    string? ResolvedAt,
    string Summary,
    string Text);

internal sealed record AlertmanagerAlert(
    [property: JsonPropertyName("labels")] Dictionary<string, string> Labels,
    [property: JsonPropertyName("annotations")] Dictionary<string, string> Annotations,
    [property: JsonPropertyName("startsAt")] string StartsAt,
    [property: JsonPropertyName("endsAt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EndsAt,
    [property: JsonPropertyName("generatorURL")] string GeneratorUrl);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(WebhookBody))]
[JsonSerializable(typeof(List<AlertmanagerAlert>))]
internal sealed partial class NotificationJson : JsonSerializerContext;
