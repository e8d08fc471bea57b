-- wrk script: POSTs canonical ingest bodies with unique ids to the mock ingest server, the
-- same work the SDK's worker asks of it. Use one wrk thread (-t1) so ids stay unique.
local counter = 0
local prefix = "ext_wrk" .. tostring(os.time()) .. "_"

request = function()
  counter = counter + 1
  local body = '{"externalRequestId":"' .. prefix .. counter .. '","provider":"openai",' ..
    '"model":"gpt-4o-mini","promptVersion":"summary_v3","endpointTag":"checkout.ai_summary",' ..
    '"inputTokens":120,"outputTokens":45,"totalTokens":165,"latencyMs":820,"status":"success",' ..
    '"errorCode":null,"userId":null,"dataMode":"real","environment":"prod",' ..
    '"metadata":{"sdkLanguage":"cpp","sdkVersion":"0.1.0"}}'
  return wrk.format("POST", "/v1/ingest/llm-request",
    {["Content-Type"] = "application/json", ["X-API-Key"] = "test-key"}, body)
end
