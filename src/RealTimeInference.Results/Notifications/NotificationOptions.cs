namespace RealTimeInference.Results.Notifications;

/// <summary>Where alerts are sent (Alerts:Webhooks, Alerts:Alertmanager) and how.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Alerts";

    /// <summary>Each receives a JSON POST on every change of every alert.</summary>
    public IList<WebhookOptions> Webhooks { get; } = [];

    public AlertmanagerOptions Alertmanager { get; set; } = new();

    /// <summary>How often Alertmanager is told again of the alerts still open (it forgets alerts it stops hearing of).</summary>
    public TimeSpan ResendInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The server's address as the people who get a notification reach it: alert links point there.</summary>
    public Uri PublicUrl { get; set; } = new("http://localhost:8000");

    /// <summary>The longest wait between tries of a notification a receiver refused.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The sinks' names, in the order they are configured: <c>webhook-0</c>, ..., <c>alertmanager</c>.</summary>
    public IReadOnlyList<string> SinkNames =>
        [.. Webhooks.Select((_, i) => WebhookName(i)), .. Alertmanager.Url is null ? Array.Empty<string>() : [AlertmanagerName]];

    public const string AlertmanagerName = "alertmanager";

    public static string WebhookName(int index) => $"webhook-{index}";
}

public sealed class WebhookOptions
{
    public Uri? Url { get; set; }

    /// <summary>When set, each body is signed: <c>X-RTI-Signature: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>.</summary>
    public string? Secret { get; set; }
}

public sealed class AlertmanagerOptions
{
    /// <summary>Alertmanager's base address (alerts go to <c>/api/v2/alerts</c>); none: not used.</summary>
    public Uri? Url { get; set; }
}
