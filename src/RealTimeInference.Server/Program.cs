using RealTimeInference.Inference;
using RealTimeInference.Server.Health;
using RealTimeInference.Server.Hosting;
using RealTimeInference.Server.Observability;
using RealTimeInference.Server.Predictions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServerDefaults();
builder.AddObservability();
builder.Services.AddInference();
builder.Services.AddPredictions();
builder.Services.AddApiDocs();

var app = builder.Build();

app.UseServerDefaults();
app.MapHealthEndpoints();
app.MapMetricsEndpoints();
app.MapPredictionEndpoints();

app.Run();

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;
