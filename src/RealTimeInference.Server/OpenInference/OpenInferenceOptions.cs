namespace RealTimeInference.Server.OpenInference;

public sealed class OpenInferenceOptions
{
    public const string Section = "OpenInference";

    /// <summary>The server name <c>GET /v2</c> and ServerMetadata answer.</summary>
    public string ServerName { get; set; } = "realtime-inference";

    /// <summary>Largest <c>/v2/models/{name}/infer</c> body (JSON header and binary tensors together), in bytes (413 above it); gRPC's largest message too (ResourceExhausted above it).</summary>
    public long MaxRequestBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// A port on which Kestrel also listens for cleartext HTTP/2 (h2c) without TLS, for gRPC
    /// clients (<c>inference.GRPCInferenceService</c>); null: no such port.
    /// </summary>
    public int? GrpcPort { get; set; }

    /// <summary>The address the gRPC port binds to: loopback unless told otherwise.</summary>
    public string GrpcHost { get; set; } = "localhost";
}
