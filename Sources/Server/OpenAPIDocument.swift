import Foundation

/// The OpenAPI 3.0 description served at `GET /openapi.json`: every route, body and error of the server.
public enum OpenAPIDocument {
    /// The document for a server of `model` (the only model name accepted) whose vocabulary has
    /// `vocabulary` tokens (the largest token id a prompt may hold).
    public static func json(model: String, vocabulary: Int) -> String {
        let name = String(decoding: (try? JSONEncoder().encode([model])) ?? Data("[]".utf8), as: UTF8.self)
        return template.replacingOccurrences(of: "\"MODEL_ENUM\"", with: name)
            .replacingOccurrences(of: "\"MAX_TOKEN_ID\"", with: String(max(0, vocabulary - 1)))
    }

    /// The document with placeholders for the model name and the vocabulary.
    static let template = #"""
    {
      "openapi": "3.0.3",
      "info": {
        "title": "SpecDec server",
        "version": "1.0.0",
        "description": "OpenAI-compatible completions and chat completions with speculative decoding. Errors are OpenAI error objects."
      },
      "paths": {
        "/health": {
          "get": {
            "operationId": "health",
            "summary": "Liveness and slot state",
            "responses": {
              "200": {"description": "The server is up", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
            }
          }
        },
        "/metrics": {
          "get": {
            "operationId": "metrics",
            "summary": "Prometheus text metrics",
            "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
          }
        },
        "/openapi.json": {
          "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}}
          }
        },
        "/v1/models": {
          "get": {
            "operationId": "listModels",
            "summary": "The served model",
            "responses": {
              "200": {"description": "Models", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}},
              "401": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/v1/completions": {
          "post": {
            "operationId": "createCompletion",
            "summary": "Complete a prompt (stream: true gives server-sent events ending in data: [DONE])",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompletionRequest"}}}},
            "responses": {
              "200": {"description": "A completion, or a text/event-stream of completion chunks",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompletionResponse"}},
                                  "text/event-stream": {"schema": {"$ref": "#/components/schemas/ServerSentEvent"}}}},
              "400": {"$ref": "#/components/responses/Error"},
              "401": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"},
              "413": {"$ref": "#/components/responses/Error"},
              "429": {"$ref": "#/components/responses/Error"},
              "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/v1/chat/completions": {
          "post": {
            "operationId": "createChatCompletion",
            "summary": "Answer a conversation (stream: true gives server-sent events ending in data: [DONE])",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletionRequest"}}}},
            "responses": {
              "200": {"description": "A chat completion, or a text/event-stream of chat completion chunks",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletionResponse"}},
                                  "text/event-stream": {"schema": {"$ref": "#/components/schemas/ServerSentEvent"}}}},
              "400": {"$ref": "#/components/responses/Error"},
              "401": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"},
              "413": {"$ref": "#/components/responses/Error"},
              "429": {"$ref": "#/components/responses/Error"},
              "503": {"$ref": "#/components/responses/Error"}
            }
          }
        }
      },
      "components": {
        "responses": {
          "Error": {"description": "An OpenAI error object", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        },
        "schemas": {
          "ServerSentEvent": {
            "type": "object", "required": ["data"],
            "description": "One event of a stream: data is a chunk as JSON, an error object as JSON, or [DONE] at the end",
            "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}}
          },
          "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["message", "type"],
              "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": "string", "nullable": true},
                             "code": {"type": "string", "nullable": true}}}}
          },
          "Health": {
            "type": "object", "required": ["status", "slots_idle", "slots_busy", "queue_depth"],
            "properties": {"status": {"type": "string"}, "slots_idle": {"type": "integer"}, "slots_busy": {"type": "integer"},
                           "queue_depth": {"type": "integer"}}
          },
          "ModelList": {
            "type": "object", "required": ["object", "data"],
            "properties": {"object": {"type": "string"}, "data": {"type": "array", "items": {"type": "object",
              "required": ["id", "object", "created", "owned_by"],
              "properties": {"id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"},
                             "owned_by": {"type": "string"}}}}}
          },
          "Stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}]},
          "Speculative": {
            "type": "object",
            "description": "Per-request speculation (fields left out keep the server's settings); drafter none decodes plainly.",
            "properties": {
              "drafter": {"type": "string", "description": "model, lookup, suffix, hybrid, self, cross-vocab, chain:A,B, none"},
              "draft_max": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["auto"]}]},
              "verifier": {"type": "string", "enum": ["auto", "greedy", "sampling", "top-beta", "confidence"]},
              "cost_model": {"type": "boolean"},
              "draft_policy": {"type": "string", "enum": ["fixed", "p-min", "confidence"]},
              "draft_p_min": {"type": "number", "minimum": 0, "maximum": 1},
              "tree_width": {"type": "integer", "minimum": 1},
              "tree_nodes": {"type": "integer", "minimum": 1},
              "lookup_min": {"type": "integer", "minimum": 1},
              "lookup_max": {"type": "integer", "minimum": 1},
              "top_beta": {"type": "integer", "minimum": 1},
              "tolerance": {"type": "number", "minimum": 0},
              "confidence_tolerance": {"type": "number", "minimum": 0}
            }
          },
          "GenerationFields": {
            "type": "object",
            "properties": {
              "model": {"type": "string", "enum": "MODEL_ENUM"},
              "max_tokens": {"type": "integer", "minimum": 0},
              "temperature": {"type": "number", "minimum": 0, "maximum": 2},
              "top_p": {"type": "number", "exclusiveMinimum": true, "minimum": 0, "maximum": 1},
              "top_k": {"type": "integer", "minimum": 0},
              "min_p": {"type": "number", "minimum": 0, "exclusiveMaximum": true, "maximum": 1},
              "seed": {"type": "integer"},
              "stop": {"$ref": "#/components/schemas/Stop"},
              "n": {"type": "integer", "enum": [1]},
              "stream": {"type": "boolean"},
              "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
              "speculative": {"$ref": "#/components/schemas/Speculative"}
            }
          },
          "CompletionRequest": {
            "allOf": [
              {"$ref": "#/components/schemas/GenerationFields"},
              {"type": "object", "required": ["prompt"], "properties": {"prompt": {"oneOf": [
                {"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 1},
                {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": "MAX_TOKEN_ID"}, "minItems": 1}]}}}
            ]
          },
          "ChatMessage": {
            "type": "object", "required": ["role"],
            "properties": {
              "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
              "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object", "required": ["type", "text"],
                "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}}}}]}
            }
          },
          "ChatCompletionRequest": {
            "allOf": [
              {"$ref": "#/components/schemas/GenerationFields"},
              {"type": "object", "required": ["messages"], "properties": {
                "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ChatMessage"}},
                "max_completion_tokens": {"type": "integer", "minimum": 0}}}
            ]
          },
          "Usage": {
            "type": "object", "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
            "properties": {"prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}
          },
          "Timings": {
            "type": "object",
            "description": "SpecDec's figures: prefill and decode time, tokens/s, drafting counts",
            "properties": {"prompt_tokens": {"type": "integer"}, "prefill_seconds": {"type": "number"}, "generated_tokens": {"type": "integer"},
                           "decode_seconds": {"type": "number"}, "tokens_per_second": {"type": "number"}, "draft_steps": {"type": "integer"},
                           "drafted": {"type": "integer"}, "accepted": {"type": "integer"}, "mean_accepted": {"type": "number"},
                           "llm_token_share": {"type": "number"}}
          },
          "CompletionResponse": {
            "type": "object", "required": ["id", "object", "created", "model", "choices"],
            "properties": {
              "id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"}, "model": {"type": "string", "enum": "MODEL_ENUM"},
              "choices": {"type": "array", "items": {"type": "object", "required": ["index", "text"],
                "properties": {"index": {"type": "integer"}, "text": {"type": "string"},
                               "finish_reason": {"type": "string", "enum": ["stop", "length"]}}}},
              "usage": {"$ref": "#/components/schemas/Usage"},
              "timings": {"$ref": "#/components/schemas/Timings"}
            }
          },
          "ChatCompletionResponse": {
            "type": "object", "required": ["id", "object", "created", "model", "choices"],
            "properties": {
              "id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"}, "model": {"type": "string", "enum": "MODEL_ENUM"},
              "choices": {"type": "array", "items": {"type": "object", "required": ["index", "message"],
                "properties": {"index": {"type": "integer"},
                               "message": {"type": "object", "required": ["role", "content"],
                                           "properties": {"role": {"type": "string"}, "content": {"type": "string"}}},
                               "finish_reason": {"type": "string", "enum": ["stop", "length"]}}}},
              "usage": {"$ref": "#/components/schemas/Usage"},
              "timings": {"$ref": "#/components/schemas/Timings"}
            }
          }
        }
      }
    }
    """#
}
