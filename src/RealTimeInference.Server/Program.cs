using RealTimeInference.Inference;
using RealTimeInference.Server.Alerts;
using RealTimeInference.Server.Health;
using RealTimeInference.Server.Hosting;
using RealTimeInference.Server.Ingestion;
using RealTimeInference.Server.Models;
using RealTimeInference.Server.Observability;
using RealTimeInference.Server.OpenInference;
using RealTimeInference.Server.Optimizer;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Readings;
using RealTimeInference.Server.Results;
using RealTimeInference.Server.Simulation;
using RealTimeInference.Server.Sockets;
using RealTimeInference.Server.Streaming;
using RealTimeInference.Server.Wafers;
using RealTimeInference.Server.Yield;

if (args is [HealthProbe.Argument, var probed])
{
    return await HealthProbe.RunAsync(probed, Console.Out);
}

// Content root at the binaries, so appsettings.json and models/ are found from any working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

builder.AddServerDefaults();
builder.AddObservability();
builder.Services.AddInference();
builder.Services.AddModels();
builder.Services.AddPredictions();
builder.Services.AddReadings();
builder.Services.AddPredictSockets();
builder.Services.AddStreaming();
builder.Services.AddResults();
builder.Services.AddAlertRules();
builder.Services.AddSimulation();
builder.Services.AddWafers();
builder.Services.AddYieldForecasts();
builder.Services.AddOptimizer();
builder.Services.AddIngestion();
builder.AddOpenInference();
builder.Services.AddClientRateLimiting();
builder.Services.AddApiDocs();

var app = builder.Build();

app.UseServerDefaults();
app.MapHealthEndpoints();
app.MapMetricsEndpoints();
app.MapPredictionEndpoints();
app.MapReadingEndpoints();
app.MapPredictSocketEndpoints();
app.MapModelEndpoints();
app.MapWaferEndpoints();
app.MapYieldEndpoints();
app.MapOptimizerEndpoints();
app.MapStreamingEndpoints();
app.MapResultsEndpoints();
app.MapAlertEndpoints();
app.MapOpenInferenceEndpoints();

await app.RunAsync();
return 0;

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;
