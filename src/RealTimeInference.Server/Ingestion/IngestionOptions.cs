namespace RealTimeInference.Server.Ingestion;

/// <summary>Readings from RabbitMQ: a durable quorum queue in, a topic exchange of results out.</summary>
public sealed class RabbitMqOptions
{
    public bool Enabled { get; set; }

    public Uri Uri { get; set; } = new("amqp://guest:guest@localhost:5672/");

    /// <summary>The queue readings arrive on; declared durable, as a quorum queue, when absent.</summary>
    public string Queue { get; set; } = "rti.readings";

    /// <summary>Messages each consumer holds unacknowledged: how many are in flight, so that batches fill.</summary>
    public ushort Prefetch { get; set; } = 512;

    /// <summary>Consumers (channels) on the queue; each handles its messages concurrently.</summary>
    public int Consumers { get; set; } = 2;
}

/// <summary>Readings from MQTT gateways: QoS 1, a persistent session.</summary>
public sealed class MqttOptions
{
    public bool Enabled { get; set; }

    public string Host { get; set; } = "localhost";

    public int Port { get; set; } = 1883;

    /// <summary>The client id: with a persistent session, the broker keeps what arrives for it while the server restarts.</summary>
    public string ClientId { get; set; } = "rti-server";

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>Topic filter; its two wildcard levels are the tool and chamber of readings with context that name none (the tool and sensor of readings in the seed's shape).</summary>
    public string Topic { get; set; } = "fab/+/+/readings";

    /// <summary>How long the broker keeps the session (and QoS 1 messages for it) while the server is away.</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Messages in flight at once (MQTT 5 receive maximum).</summary>
    public ushort ReceiveMaximum { get; set; } = 1024;
}

public sealed class IngestionOptions
{
    public const string Section = "Ingestion";

    public RabbitMqOptions RabbitMq { get; set; } = new();

    public MqttOptions Mqtt { get; set; } = new();

    /// <summary>Latency class of a message that names none (header or user property <c>x-latency-class</c>).</summary>
    public string DefaultClass { get; set; } = "process-control";

    /// <summary>Largest message body; larger ones are dead-lettered (RabbitMQ) or refused (MQTT).</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Broker readings with the model at once, whatever the messages hold: half the sensor model's
    /// queue (8,192 rows), so messages of 1,000 readings wait unacknowledged instead of being shed.
    /// </summary>
    public int MaxInFlightReadings { get; set; } = 4096;

    /// <summary>How long an overloaded message waits before it goes back to the broker for another try.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between two tries to reach a broker that is away.</summary>
    public TimeSpan MaxReconnectBackoff { get; set; } = TimeSpan.FromSeconds(10);
}
